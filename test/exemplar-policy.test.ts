import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADAPTIVE_MIN_SAMPLES,
  createExemplarPolicy,
  type ExemplarPolicy,
  type PolicyOptions,
} from '../src/telemetry/exemplar-policy.ts';

const base: PolicyOptions = { policy: 'adaptive', rate: 0.1, thresholdSeconds: 0.5, windowSeconds: 60 };
const fast = { route: '/api/users', durationSeconds: 0.02, isError: false };

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

/**
 * Fills the route's window with durations 1..n ms, then moves the clock on by 1 s (the p99 is recomputed at most
 * once a second) and returns the p99 the policy will use, in seconds.
 */
function warm(policy: ExemplarPolicy, clock: { ms: number }, count = 256): number {
  for (let i = 1; i <= count; i += 1) policy.shouldAttach({ ...fast, durationSeconds: i / 1000 });
  clock.ms += 1000;
  return Math.ceil(count * 0.99) / 1000;
}

describe('exemplar policy', () => {
  it('always: every observation', () => {
    const policy = createExemplarPolicy({ ...base, policy: 'always' });
    assert.equal(policy.shouldAttach(fast), true);
  });

  it('rate: below the probability only, errors always', () => {
    const policy = createExemplarPolicy({ ...base, policy: 'rate', rate: 0.25, random: sequence(0.24, 0.25, 0.9) });
    assert.deepEqual([policy.shouldAttach(fast), policy.shouldAttach(fast), policy.shouldAttach({ ...fast, isError: true })], [true, false, true]);
  });

  it('threshold: at or above the threshold, errors always', () => {
    const policy = createExemplarPolicy({ ...base, policy: 'threshold', thresholdSeconds: 0.5 });
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.499 }), false);
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.5 }), true);
    assert.equal(policy.shouldAttach({ ...fast, isError: true }), true);
  });

  it('adaptive: every observation while the window is too small to know its p99', () => {
    const policy = createExemplarPolicy({ ...base, random: () => 0.999 });
    for (let i = 0; i < ADAPTIVE_MIN_SAMPLES; i += 1) assert.equal(policy.shouldAttach(fast), true);
  });

  it('adaptive: always above p99, 10% between 0.8×p99 and p99, 1% below, errors always', () => {
    const draws: number[] = [];
    let next = 0.5;
    const random = () => {
      draws.push(next);
      return next;
    };
    const clock = { ms: 1_000_000 };
    const policy = createExemplarPolicy({ ...base, random, now: () => clock.ms });
    const p99 = warm(policy, clock);
    draws.length = 0;

    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: p99 + 0.001 }), true, 'above p99');
    assert.equal(draws.length, 0, 'above p99 needs no draw');
    next = 0.099;
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.9 * p99 }), true, 'near p99, draw 0.099 < 0.1');
    next = 0.1;
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.9 * p99 }), false, 'near p99, draw 0.1');
    next = 0.0099;
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.5 * p99 }), true, 'rest, draw < 0.01');
    next = 0.01;
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.5 * p99 }), false, 'rest, draw 0.01');
    next = 0.999;
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.001, isError: true }), true, 'errors always');
  });

  it('adaptive: always at or above the slow threshold, even below a higher p99', () => {
    const clock = { ms: 0 };
    const lowThreshold = createExemplarPolicy({ ...base, thresholdSeconds: 0.1, random: () => 0.999, now: () => clock.ms });
    const highThreshold = createExemplarPolicy({ ...base, thresholdSeconds: 10, random: () => 0.999, now: () => clock.ms });
    warm(lowThreshold, clock);
    warm(highThreshold, clock);
    // The same history (p99 about 0.254 s) with a threshold out of reach: 0.1 s is neither above the p99 nor drawn.
    assert.equal(highThreshold.shouldAttach({ ...fast, durationSeconds: 0.1 }), false, 'below the p99, no threshold');
    assert.equal(lowThreshold.shouldAttach({ ...fast, durationSeconds: 0.1 }), true, 'at the threshold');
    assert.equal(lowThreshold.shouldAttach({ ...fast, durationSeconds: 0.099 }), false, 'below both');
  });

  it('adaptive: keeps one window per route', () => {
    const clock = { ms: 0 };
    const policy = createExemplarPolicy({ ...base, random: () => 0.999, now: () => clock.ms });
    warm(policy, clock); // /api/users: p99 about 0.254 s
    // /api/orders has no history yet, so even a fast request is kept.
    assert.equal(policy.shouldAttach({ route: '/api/orders', durationSeconds: 0.001, isError: false }), true);
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.001 }), false);
  });

  it('adaptive: forgets observations older than the window', () => {
    const clock = { ms: 0 };
    const policy = createExemplarPolicy({ ...base, windowSeconds: 60, random: () => 0.999, now: () => clock.ms });
    warm(policy, clock);
    assert.equal(policy.shouldAttach({ ...fast, durationSeconds: 0.001 }), false);
    clock.ms += 61_000;
    // Past the window nothing is recent, so the p99 is unknown again once recomputed (at most 64 observations on).
    const kept = Array.from({ length: 64 }, () => policy.shouldAttach({ ...fast, durationSeconds: 0.001 }));
    assert.equal(kept.at(-1), true);
  });
});
