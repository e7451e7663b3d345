// The one quantile of the project: nearest rank, as the load script's summary, the bench and e2e report it.

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** The q-quantiles (each 0..1) of `values` (in any order), nearest rank, sorting once; NaN when empty. */
export function quantiles(values: readonly number[], qs: readonly number[]): number[] {
  const sorted = ascending(values);
  return qs.map((q) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!));
}

/** The q-quantile (0..1) of `values` (in any order), nearest rank; NaN when empty. */
export const quantile = (values: readonly number[], q: number): number => quantiles(values, [q])[0]!;

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
