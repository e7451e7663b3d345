// The load script's bookkeeping at the flags' largest values, against a stand-in service on loopback that answers
// at once, traced or not as its server-timing header says; and its summary's one line per slow request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOAD_FLAGS, type LoadSummary, LoadRun, parseLoadOptions, type Sample, slowRequestLine, summarize } from '../scripts/load.ts';
import { LatencyHistogram } from '../scripts/stats.ts';

const ZERO_TRACE = '0'.repeat(32);

/** The trace IDs the stand-in service sent for requests it did not trace. */
const untraced = new Set<string>([ZERO_TRACE]);

/**
 * Every third response is traced; the others were not sampled at the head (flags 00), or tracing was off (the
 * all-zero ID; sent with the sampled flag here, so that each rule is seen on its own).
 */
function standInService(): Server {
  let answered = 0;
  return createServer((_request, response) => {
    answered += 1;
    const traceId = answered % 3 === 2 ? ZERO_TRACE : randomBytes(16).toString('hex');
    const flags = answered % 3 === 1 ? '00' : '01';
    if (flags === '00') untraced.add(traceId);
    response.writeHead(200, { 'server-timing': `traceparent;desc="00-${traceId}-${randomBytes(8).toString('hex')}-${flags}"` }).end('[]');
  });
}

/** The largest size of any array, map or set among the run's fields and theirs (the histograms' fixed buckets aside). */
function largestCollection(value: unknown, depth = 3): number {
  if (typeof value !== 'object' || value === null || depth === 0 || ArrayBuffer.isView(value)) return 0;
  const own = Array.isArray(value) ? value.length : value instanceof Map || value instanceof Set ? value.size : 0;
  const children = value instanceof Map || value instanceof Set ? [...value.values()] : Object.values(value);
  return Math.max(own, ...children.map((child) => largestCollection(child, depth - 1)));
}

// --concurrency stays at its default: the workers are bounded by the flags themselves (concurrency × spike factor),
// and 5120 connections opened at once against a server in this same process take some 12 s to drain.
describe('load script at the largest flag values (--rate 2000, --spike-factor 20, --slowest 100)', () => {
  let server: Server;
  let run: LoadRun;
  let summary: LoadSummary;
  const samplesFile = join(mkdtempSync(join(tmpdir(), 'exemplar-demo-load-')), 'samples.jsonl');

  before(async () => {
    server = standInService();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const max = (flag: 'rate' | 'spike-factor' | 'slowest') => String(LOAD_FLAGS[flag].max);
    const options = parseLoadOptions(
      ['--base-url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--duration', '2', '--spike-start', '0', '--spike-duration', '2',
        '--rate', max('rate'), '--spike-factor', max('spike-factor'), '--slowest', max('slowest'), '--samples-file', samplesFile],
      {},
    );
    run = new LoadRun(options);
    await run.drive();
    run.close();
    summary = summarize(run, options);
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps a fixed-size histogram per route and the 100 slowest, not every request', () => {
    assert.ok(run.requests > 300, `${run.requests} requests`);
    assert.equal(summary.routes.reduce((sum, route) => sum + route.count, 0), run.requests, 'every request counted');
    for (const tally of run.routes.values()) assert.equal(tally.latencies.buckets.length, LatencyHistogram.BUCKETS);
    assert.equal(run.slowest.items.length, 100);
    assert.equal(largestCollection(run), 100, 'no collection larger than the slowest kept');
  });

  it('writes every request to --samples-file as it goes, keeping none', () => {
    const samples = readFileSync(samplesFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Sample);
    assert.equal(samples.length, run.requests);
    for (const sample of samples) assert.ok(sample.route.startsWith('/api/') && sample.seconds > 0 && sample.phase === 'spike', JSON.stringify(sample));
  });

  it('links only the traced requests: not the unsampled nor the all-zero trace IDs', () => {
    const traced = summary.slowest.filter((slow) => slow.traceId !== undefined);
    assert.ok(traced.length > 0 && traced.length < summary.slowest.length, `${traced.length} of ${summary.slowest.length} traced`);
    for (const slow of summary.slowest) {
      assert.ok(slow.traceId === undefined || !untraced.has(slow.traceId), `${slow.traceId} was not traced`);
      assert.equal(slow.grafanaUrl === undefined, slow.traceId === undefined);
      assert.equal(slow.tempoUrl === undefined, slow.traceId === undefined);
    }
  });
});

describe("load script summary's slow-request line", () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const grafanaUrl = `http://localhost:3000/explore?trace=${traceId}`;
  const traced = { route: '/api/orders', seconds: 1.523, status: 200, traceId, grafanaUrl, tempoUrl: `http://localhost:3200/api/traces/${traceId}` };

  it('on a terminal, links the trace ID to Grafana (OSC 8) on one line', () => {
    const line = slowRequestLine(traced, true);
    assert.equal(line, `   1523 ms  /api/orders  200  \x1b]8;;${grafanaUrl}\x1b\\trace ${traceId}\x1b]8;;\x1b\\`);
  });

  it('elsewhere, ends the one line with the full URL', () => {
    assert.equal(slowRequestLine(traced, false), `   1523 ms  /api/orders  200  ${grafanaUrl}`);
  });

  it('offers no link for a request that was not traced', () => {
    for (const hyperlinks of [true, false]) {
      const line = slowRequestLine({ route: '/api/users', seconds: 0.9, status: 200 }, hyperlinks);
      assert.equal(line, '    900 ms  /api/users   200  not traced');
    }
  });
});
