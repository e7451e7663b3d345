// The exemplar doctor (`npm run exemplars -- doctor`) against the real service and a real Prometheus. Tempo and
// Grafana cannot run here, so each is a FAKE that answers as their source at the pinned tag says (scripts/doctor.ts
// names where): the trace store serves the traces the real service exported to a real OTLP receiver.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import type { CheckResult } from '../scripts/doctor.ts';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { Prometheus } from '../harness/prometheus.ts';
import { runNode, type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';

const DATASOURCES = 'grafana/provisioning/datasources/datasources.yaml';
const TOKEN = 'glsa_doctor_test_token';

/** An HTTP server on a free loopback port, answering with `handle`. */
async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/**
 * FAKE trace store with Tempo's and Jaeger's trace-by-ID answers: Tempo v2 200 with the trace, or 200 with an empty
 * `trace` when unknown; Jaeger 200 or 404; both 400 for a malformed ID. It counts lookups and their concurrency.
 */
class FakeTraceStore {
  readonly forgotten = new Set<string>();
  lookups = 0;
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
  url = '';
  private server: Server | undefined;
  private readonly receiver: OtlpReceiver;

  constructor(receiver: OtlpReceiver) {
    this.receiver = receiver;
  }

  async start(): Promise<void> {
    ({ url: this.url, server: this.server } = await serve((request, response) => void this.answer(request, response)));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.lookups += 1;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await sleep(this.delayMs);
    this.inFlight -= 1;
    const match = /^\/api\/(v2\/)?traces\/([^/?]+)/.exec(request.url ?? '');
    if (match === null) return void response.writeHead(404).end();
    const [, v2, traceId] = match;
    if (!/^[0-9a-f]{1,32}$/.test(traceId!)) return void response.writeHead(400).end('invalid trace id');
    const known = !this.forgotten.has(traceId!) && this.receiver.spans.some((span) => span.traceId === traceId);
    if (v2 !== undefined) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ trace: known ? { resourceSpans: [{ scopeSpans: [] }] } : {}, metrics: {} }));
    } else if (known) response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ traceID: traceId, spans: [] }] }));
    else response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 404, msg: 'trace not found' }] }));
  }

  stop(): void {
    this.server?.close();
  }
}

interface DoctorJson {
  ok: boolean;
  checks: (CheckResult & { windows?: number })[];
}

describe('exemplar doctor', () => {
  let receiver: OtlpReceiver;
  let service: ServiceProcess;
  let stopService: () => Promise<void>;
  let prometheus: Prometheus;
  let store: FakeTraceStore;
  let grafana: { url: string; server: Server };
  let scratch: string;

  before(async () => {
    ({ service, receiver, stop: stopService } = await startServiceWithReceiver({
      USERS_SLOW_PROBABILITY: '0.2',
      USERS_SLOW_LATENCY_MS: '120',
      EXEMPLAR_POLICY: 'adaptive',
      EXEMPLAR_THRESHOLD_MS: '100',
    }));
    prometheus = await Prometheus.start({ target: new URL(service.baseUrl).host });
    for (let round = 0; round < 4; round += 1) {
      await Promise.all(Array.from({ length: 20 }, async (_, i) => (await fetch(`${service.baseUrl}/api/${i % 2 === 0 ? 'users' : 'orders'}`)).arrayBuffer()));
      await prometheus.waitForScrapes(1);
    }
    await prometheus.waitForScrapes(2);
    store = new FakeTraceStore(receiver);
    await store.start();
    // FAKE Grafana: GET /api/datasources answers the provisioned datasources to the right service account token only.
    const provisioned = parse(readFileSync(DATASOURCES, 'utf8')) as { datasources: unknown[] };
    grafana = await serve((request, response) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) return void response.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(provisioned.datasources));
    });
    scratch = mkdtempSync(join(tmpdir(), 'doctor-test-'));
  });
  after(async () => {
    store.stop();
    grafana.server.close();
    rmSync(scratch, { recursive: true, force: true });
    await prometheus.stop();
    await stopService();
  });

  const doctor = (...flags: string[]) =>
    runNode(['scripts/exemplars.ts', 'doctor', '--prometheus-url', prometheus.url, '--trace-store-url', store.url, '--pending-seconds', '0', '--slow-seconds', '0.1', ...flags], {});
  const json = async (...flags: string[]) => {
    const result = await doctor('--json', ...flags);
    return { code: result.code, report: JSON.parse(result.stdout) as DoctorJson, result };
  };
  const check = (report: DoctorJson, name: CheckResult['check']) => report.checks.find((c) => c.check === name)!;

  it('passes every check on a healthy stack, links read from the shipped provisioning file', async () => {
    const { code, report, result } = await json('--grafana-datasources', DATASOURCES, '--max-lookups', '1000');
    assert.equal(code, 0, result.output);
    assert.deepEqual(report.checks.map((c) => [c.check, c.verdict]), [['storage', 'pass'], ['format', 'pass'], ['resolution', 'pass'], ['coverage', 'pass'], ['links', 'pass']]);
    assert.match(check(report, 'resolution').summary, /^(\d+) of \1 resolve \(100\.0%\)/);
    assert.ok(check(report, 'coverage').windows! > 0);
    assert.match(check(report, 'links').summary, /links trace_id to tempo/);
  });

  it('prints one verdict line per check for people', async () => {
    const result = await doctor('--trace-api', 'jaeger');
    assert.equal(result.code, 0, result.output);
    assert.match(result.stdout, /^PASS  storage {5}Exemplar storage is on; \d+ exemplars/m);
    assert.match(result.stdout, /^PASS  resolution {2}\d+ of \d+ resolve \(100\.0%\)/m);
    assert.match(result.stdout, /^SKIP  links/m);
    assert.match(result.stdout, /All checks pass\./);
  });

  it('lists dangling exemplars with their age, and keeps young ones pending', async () => {
    const ids = [...new Set(receiver.serverSpans().filter((span) => span.attributes.exemplar === true).map((span) => span.traceId))];
    for (const traceId of ids) store.forgotten.add(traceId);
    try {
      const { code, report } = await json('--max-lookups', '1000');
      assert.equal(code, 1);
      const resolution = check(report, 'resolution');
      assert.equal(resolution.verdict, 'fail');
      assert.match(resolution.summary, /^0 of \d+ resolve \(0\.0%\).* dangling/);
      assert.match(resolution.fix!, /tail-sampling policy/);
      assert.match(resolution.details![0]!, /^[0-9a-f]{32} {2}\d+ s old$/);
      const before = store.lookups;
      const young = await json('--pending-seconds', '3600');
      assert.equal(check(young.report, 'resolution').verdict, 'pass');
      assert.match(check(young.report, 'resolution').summary, /0 of 0 resolve .*\d+ pending \(younger than 3600 s/);
      assert.equal(store.lookups, before, 'pending exemplars are not looked up');
    } finally {
      store.forgotten.clear();
    }
  });

  it('bounds its lookups: a maximum per run, a concurrency, a timeout each', async () => {
    const before = store.lookups;
    store.maxInFlight = 0;
    store.delayMs = 50;
    const sampled = await json('--max-lookups', '3', '--concurrency', '2');
    assert.equal(store.lookups - before, 3);
    assert.ok(store.maxInFlight <= 2, `${store.maxInFlight} lookups in flight`);
    assert.match(check(sampled.report, 'resolution').summary, /^3 of 3 resolve \(100\.0%\).*sampled 3 of \d+ \(--max-lookups\)/);
    store.delayMs = 500;
    const slow = await json('--max-lookups', '2', '--lookup-timeout-ms', '100');
    store.delayMs = 0;
    assert.equal(slow.code, 1);
    assert.match(check(slow.report, 'resolution').summary, /2 lookups unanswered within 100 ms/);
  });

  it('names an unmapped exemplar label: a datasource file with only traceID is "dots but no link"', async () => {
    const file = join(scratch, 'only-traceID.yaml');
    const provisioned = parse(readFileSync(DATASOURCES, 'utf8')) as { datasources: { jsonData?: { exemplarTraceIdDestinations?: { name: string }[] } }[] };
    const prometheusSource = provisioned.datasources[0]!.jsonData!;
    prometheusSource.exemplarTraceIdDestinations = prometheusSource.exemplarTraceIdDestinations!.map((d) => ({ ...d, name: 'traceID' }));
    writeFileSync(file, stringify(provisioned));
    const { code, report } = await json('--grafana-datasources', file);
    assert.equal(code, 1);
    assert.match(check(report, 'links').summary, /Exemplars carry trace_id, which datasource "Prometheus" .* does not map \(it maps traceID\): dots but no link/);
  });

  it('reads the links from the Grafana API with a token, and says when the token is refused', async () => {
    const { code, report, result } = await json('--grafana-url', grafana.url, '--grafana-token', TOKEN);
    assert.equal(code, 0, result.output);
    assert.equal(check(report, 'links').verdict, 'pass');
    const refused = await doctor('--grafana-url', grafana.url, '--grafana-token', 'wrong');
    assert.equal(refused.code, 7);
    assert.match(refused.stderr, /^Grafana at http:\/\/127\.0\.0\.1:\d+ refused the token \(401\): give a service account token/);
  });

  it('names text-format scraping as the cause of "no exemplars"', async () => {
    const text = await Prometheus.start({ target: new URL(service.baseUrl).host, scrapeProtocols: ['PrometheusText0.0.4'] });
    try {
      await text.waitForScrapes(2);
      const { code, report } = await json('--prometheus-url', text.url);
      assert.equal(code, 1);
      assert.equal(check(report, 'storage').verdict, 'fail');
      assert.match(check(report, 'format').summary, /scraped in the Prometheus text format, which carries no exemplars: the cause of "no exemplars"/);
      assert.match(check(report, 'format').details![0]!, /scrape_protocols \[PrometheusText0\.0\.4\]; answered Prometheus text/);
    } finally {
      await text.stop();
    }
  });

  it('names exemplar storage being off', async () => {
    const plain = await Prometheus.start({ target: new URL(service.baseUrl).host, exemplarStorage: false });
    try {
      await plain.waitForScrapes(1);
      const { code, report } = await json('--prometheus-url', plain.url);
      assert.equal(code, 1);
      assert.match(check(report, 'storage').summary, /^Exemplar storage is off/);
      assert.match(check(report, 'storage').fix!, /--enable-feature=exemplar-storage/);
    } finally {
      await plain.stop();
    }
  });

  // One plain sentence and its own exit code for each peer or input it cannot use.
  const cases: [string, string[], number, RegExp][] = [
    ['Prometheus unreachable', ['--prometheus-url', 'http://127.0.0.1:9'], 3, /^Prometheus is unreachable at http:\/\/127\.0\.0\.1:9 \(.*\)\. Is it up/],
    ['trace store unreachable', ['--trace-store-url', 'http://127.0.0.1:9'], 5, /^The trace store is unreachable at http:\/\/127\.0\.0\.1:9 /],
    ['Grafana unreachable', ['--grafana-url', 'http://127.0.0.1:9'], 6, /^Grafana is unreachable at http:\/\/127\.0\.0\.1:9 /],
    ['no such metric', ['--metric', 'no_such_histogram_seconds'], 8, /has no series named no_such_histogram_seconds_bucket in the last 15 minutes: check --metric/],
    ['malformed URL', ['--trace-store-url', 'tempo:3200/api'], 9, /^--trace-store-url is not a valid http\(s\) URL: "tempo:3200\/api"\.$/m],
    ['bad flag', ['--max-lookups', 'all'], 2, /--max-lookups must be a number/],
  ];
  for (const [name, flags, code, message] of cases) {
    it(`exits ${code} when: ${name}`, async () => {
      const result = await doctor(...flags);
      assert.equal(result.code, code, result.output);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '', 'no half report');
    });
  }
});
