// The benchmark harness in a smoke run (tiny durations), so `make bench` cannot rot between full runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runNode } from './support/service.ts';

describe('bench harness (smoke run)', () => {
  it('starts the three servers, loads them, and prints the table with every measure and target', async () => {
    const { code, stdout, stderr } = await runNode(['bench/run.ts', '--smoke'], {}, 120_000);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^throughput: \d+% of bare, \d+\.\d+× stock$/m);
    for (const row of ['bare Hono, no telemetry', 'stock OTel setup', 'exemplar-demo as shipped', 'ours, sampler always_off', 'ours, OTEL_SDK_DISABLED']) {
      assert.match(stdout, new RegExp(`^\\| ${row}[^|]*\\| \\d+ \\|`, 'm'), row);
    }
    for (const measure of ['added p99 latency', '/metrics render', 'RSS after', 'cold start < 1.5 s', 'errors during the runs | 0 |']) {
      assert.ok(stdout.includes(measure), measure);
    }
  });
});
