// The benchmark harness in a smoke run (tiny durations), so `make bench` cannot rot between full runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runNode } from '../harness/service.ts';

describe('bench harness (smoke run)', () => {
  it('starts every server, loads them, and prints the table with every measure and target', async () => {
    // The whole environment: the harness finds the Collector peer (scripts/peers.sh needs HOME, Go's settings).
    const { code, stdout, stderr } = await runNode(['bench/run.ts', '--smoke'], { ...process.env } as Record<string, string>, 120_000);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^throughput: \d+% of bare, \d+\.\d+× stock$/m);
    const spansPerRequest = (row: string) => {
      const cells = stdout.split('\n').find((line) => line.startsWith(`| ${row}`))?.split('|');
      assert.ok(cells !== undefined && /^ \d+ $/.test(cells[2]!), `row "${row}" with its req/s`);
      return Number(cells[7]);
    };
    for (const row of ['bare Hono, no telemetry', 'ours, sampler always_off', 'ours, OTEL_SDK_DISABLED']) assert.equal(spansPerRequest(row), 0, row);
    // The exporting servers' spans reach the Collector; the ablation's preload really drops them in-process.
    for (const row of ['stock OTel setup', 'exemplar-demo as shipped', 'ours, http/protobuf']) assert.ok(spansPerRequest(row) > 1, row);
    assert.equal(spansPerRequest('ours, every span recorded, export discarded'), 0);
    assert.match(stdout, /^\| production dependencies .* \| \d+\.\d MiB on disk, \d+ packages \|$/m);
    for (const measure of ['added p99 latency', 'http/protobuf against gRPC', '/metrics render', 'RSS after', 'cold start < 1.5 s', 'errors during the runs | 0 |']) {
      assert.ok(stdout.includes(measure), measure);
    }
  });
});
