// The project's quantiles: nearest rank for the load summary, e2e and the bench's latencies; the bench's median of
// its rounds, the upper middle, as it has always reported it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, quantile, upperMedian } from '../scripts/stats.ts';

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
});
