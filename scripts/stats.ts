// The project's quantiles: nearest rank over all values (the bench, e2e), and the bounded structures the load script
// keeps for any run length (a fixed-bucket histogram, the largest few).

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

/**
 * Latencies counted in fixed logarithmic buckets, each 1% wider than the one below, from 10 µs to an hour: about
 * 15 KiB whatever the number of requests (the load script's quantiles, for any --duration and --rate). A quantile
 * is the upper bound of the bucket holding the nearest-rank value: never below it, less than 1% above it, and never
 * above the largest value recorded.
 */
export class LatencyHistogram {
  static readonly MIN_SECONDS = 1e-5;
  static readonly MAX_SECONDS = 3600;
  static readonly GROWTH = 1.01;
  static readonly BUCKETS = Math.ceil(Math.log(LatencyHistogram.MAX_SECONDS / LatencyHistogram.MIN_SECONDS) / Math.log(LatencyHistogram.GROWTH)) + 1;
  /** Bucket i counts the values in (MIN·GROWTH^(i-1), MIN·GROWTH^i]; bucket 0 everything up to MIN, the last everything above. */
  readonly buckets = new Float64Array(LatencyHistogram.BUCKETS);
  count = 0;
  private largest = Number.NaN;

  record(seconds: number): void {
    const index = seconds <= LatencyHistogram.MIN_SECONDS ? 0 : Math.ceil(Math.log(seconds / LatencyHistogram.MIN_SECONDS) / Math.log(LatencyHistogram.GROWTH));
    this.buckets[Math.min(index, LatencyHistogram.BUCKETS - 1)]! += 1;
    this.count += 1;
    if (!(seconds <= this.largest)) this.largest = seconds;
  }

  /** The q-quantiles (each 0..1), nearest rank within the buckets' 1%; NaN when empty. */
  quantiles(qs: readonly number[]): number[] {
    return qs.map((q) => {
      if (this.count === 0) return Number.NaN;
      const rank = Math.max(1, Math.ceil(q * this.count));
      let seen = 0;
      let index = 0;
      while (seen + this.buckets[index]! < rank) seen += this.buckets[index++]!;
      const upperBound = index === LatencyHistogram.BUCKETS - 1 ? Number.POSITIVE_INFINITY : LatencyHistogram.MIN_SECONDS * LatencyHistogram.GROWTH ** index;
      return Math.min(upperBound, this.largest);
    });
  }
}

/** The `limit` largest items by `size`, largest first, holding no more than `limit` at any time. */
export class Largest<T> {
  private readonly kept: T[] = [];
  private readonly limit: number;
  private readonly size: (item: T) => number;

  constructor(limit: number, size: (item: T) => number) {
    this.limit = limit;
    this.size = size;
  }

  offer(item: T): void {
    const kept = this.kept;
    if (kept.length === this.limit && (this.limit === 0 || this.size(item) <= this.size(kept.at(-1)!))) return;
    const at = kept.findIndex((other) => this.size(other) < this.size(item));
    kept.splice(at === -1 ? kept.length : at, 0, item);
    if (kept.length > this.limit) kept.pop();
  }

  get items(): readonly T[] {
    return this.kept;
  }
}
