// The project's quantiles: nearest rank for e2e and the bench's latencies; the bench's median of its rounds, the
// upper middle, as it has always reported it; the load script's bounded histogram and its slowest few.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Largest, LatencyHistogram, median, quantile, quantiles, upperMedian } from '../scripts/stats.ts';

describe('stats', () => {
  it('takes the nearest rank, in any order, without reordering the input', () => {
    const values = [5, 1, 4, 2, 3];
    assert.equal(quantile(values, 0.5), 3);
    assert.equal(quantile(values, 0.99), 5);
    assert.equal(quantile(values, 0), 1);
    assert.equal(quantile([10, 20, 30, 40], 0.95), 40);
    assert.deepEqual(values, [5, 1, 4, 2, 3]);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('median is the lower middle of an even count, upperMedian the upper one; both the middle of an odd count', () => {
    assert.equal(median([4, 1, 3, 2]), 2);
    assert.equal(upperMedian([4, 1, 3, 2]), 3);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(upperMedian([3, 1, 2]), 2);
    assert.ok(Number.isNaN(upperMedian([])));
  });

  /** Deterministic latencies spread log-uniformly over 0.1 ms .. 100 s. */
  const latencies = (count: number): number[] => {
    let state = 12345;
    return Array.from({ length: count }, () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return 1e-4 * 10 ** (6 * (state / 2 ** 31));
    });
  };

  it('LatencyHistogram: quantiles within 1% above the exact nearest rank, in the same memory for any count', () => {
    const histogram = new LatencyHistogram();
    const values = latencies(200_000);
    for (const value of values) histogram.record(value);
    assert.equal(histogram.count, values.length);
    assert.equal(histogram.buckets.length, LatencyHistogram.BUCKETS, 'no bucket added');
    assert.ok(histogram.buckets.byteLength < 16 * 1024, `${histogram.buckets.byteLength} bytes`);
    const qs = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1];
    const estimated = histogram.quantiles(qs);
    quantiles(values, qs).forEach((exact, i) => {
      assert.ok(estimated[i]! >= exact && estimated[i]! < exact * LatencyHistogram.GROWTH, `q ${qs[i]}: ${estimated[i]} for ${exact}`);
    });
    assert.equal(estimated.at(-1), values.reduce((a, b) => Math.max(a, b)), 'the largest exactly');
    assert.deepEqual(new LatencyHistogram().quantiles([0.5]), [Number.NaN]);
  });

  it('LatencyHistogram: counts values beyond its range in its end buckets', () => {
    const histogram = new LatencyHistogram();
    for (const value of [0, 1e-7, 5000, 10_000]) histogram.record(value);
    assert.equal(histogram.buckets[0], 2);
    assert.equal(histogram.buckets.at(-1), 2);
    assert.deepEqual(histogram.quantiles([0.5, 1]), [LatencyHistogram.MIN_SECONDS, 10_000]);
  });

  it('Largest: keeps the k largest, largest first, never holding more than k', () => {
    const largest = new Largest<number>(5, (value) => value);
    const values = latencies(10_000);
    for (const value of values) {
      largest.offer(value);
      assert.ok(largest.items.length <= 5);
    }
    assert.deepEqual(largest.items, [...values].sort((a, b) => b - a).slice(0, 5));
    const none = new Largest<number>(0, (value) => value);
    none.offer(1);
    assert.deepEqual(none.items, []);
  });
});
