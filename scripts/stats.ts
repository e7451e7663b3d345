// The one quantile of the project: nearest rank, as the load script's summary, the bench and e2e report it.

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** The q-quantile (0..1) of `values` (in any order), nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = ascending(values);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/**
 * The middle value, the upper of the two middle ones when the count is even (nearest rank takes the lower): the
 * bench's median of its 4 rounds and 50 renders since its first results, kept so that its numbers stay comparable.
 * NaN when empty.
 */
export function upperMedian(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return ascending(values)[Math.floor(values.length / 2)]!;
}
