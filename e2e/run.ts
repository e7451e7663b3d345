// The stack proven without Docker (`make e2e`, `node --test e2e/run.ts`): the real Prometheus and the real Collector
// run the very files docker-compose.yml mounts, unedited, with the service, under bounded load; then each check is
// a test: every exemplar Prometheus stores is looked up in the trace store, and so on. Tempo cannot be had here:
// Jaeger v2 stands in for it (e2e/stack.ts); nor Loki: the Collector's log records go to e2e/loki-stand-in.ts.
// The tests run in the order written, and the order matters: the fault switch, whose annotation check 7 reads,
// is used again only by the tests after that check (6 and 8).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { prometheusTargets } from '../scripts/dashboard.ts';
import { checkCoverage, checkStorage, type StoredExemplar, storedExemplars } from '../scripts/doctor.ts';
import { FaultSwitchClient } from '../scripts/fault-switch.ts';
import type { Sample } from '../scripts/load.ts';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import { traceIdOf } from '../scripts/server-timing.ts';
import { median } from '../scripts/stats.ts';
import { eventually } from '../harness/eventually.ts';
import { substituteDashboardVariables } from '../harness/promql.ts';
import { readProjectFile } from '../harness/root.ts';
import { dashboardServiceMapQueries } from '../harness/service-map.ts';
import { PAYMENT_SERVICE } from '../src/domain/orders.ts';
import { USER_DATABASE } from '../src/domain/users.ts';
import { alertFiringRegion, alertSeriesLabelled, faultSwitchRegion } from './dashboard.ts';
import { type FaultFigures, runDoctorScenarios } from './doctor-scenarios.ts';
import type { LokiStandIn } from './loki-stand-in.ts';
import { LIMITED_PROGRAMS, type Peaks, peakRssWithinLimit, standInPeaks, watchPeakRss } from './memory.ts';
import { LOGS, type Program, WORK } from './program.ts';
import { type Sighting, VisibilityWatch, visibilityFigures } from './visibility.ts';
import {
  ADMIN_TOKEN,
  APP,
  EXEMPLAR_SELECTOR,
  expectPass,
  exemplarsResolve,
  ordinaryTracesKept,
  runLoad,
  SLOW_SECONDS,
  Stack,
  storedSpans,
  tagOf,
  traceFound,
} from './stack.ts';

const PROMETHEUS = 'http://prometheus:9090';
const prometheus = new PrometheusApi(PROMETHEUS);
const faultSwitch = new FaultSwitchClient(APP, ADMIN_TOKEN);
const LOAD_SECONDS = 40;

let stack: Stack | undefined;
let app: Program | undefined;
let logStore: LokiStandIn | undefined;
let samples: Sample[] = [];
let peaks: Peaks = {};
let exemplars: StoredExemplar[] = [];
let sightings: Sighting[] = [];
let faults: FaultFigures[] = [];
/** The figures of the summary line, each added by the test that measured it. */
const summary: string[] = [];

before(async () => {
  stack = new Stack([]);
  await stack.startTraceStore();
  logStore = await stack.startLogStore();
  await stack.launch('otel-collector').waitReady('http://otel-collector:13133/');
  app = stack.launch('app');
  await app.waitReady(`${APP}/ready`);
  await stack.launch('prometheus').waitReady(`${PROMETHEUS}/-/ready`);

  console.log(`load: ${LOAD_SECONDS} s of baseline, spike (fault switch) and recovery through scripts/load.ts`);
  const rss = watchPeakRss(stack.running);
  const visibility = new VisibilityWatch(prometheus, EXEMPLAR_SELECTOR, traceFound);
  try {
    samples = await runLoad(LOAD_SECONDS, join(WORK, 'samples.jsonl'), ['--spike-start', '12', '--spike-duration', '10', '--spike-latency-ms', '1200']);
  } finally {
    peaks = await rss.stop();
  }
  for (const line of standInPeaks(peaks)) console.log(line);
  // The tail-sampling decision, the export batches, and two more scrapes.
  await sleep(12_000);
  sightings = await visibility.stop();
  exemplars = await storedExemplars(prometheus, EXEMPLAR_SELECTOR, 600);
});

after(async () => {
  await stack?.close();
  console.log(`\nsummary: ${summary.join(', ')}`);
  for (const { scenario, slices } of faults) {
    console.log(`${scenario}: ${slices.map((s) => `${s.name} ${s.resolved}/${s.checked} resolve, ${s.dangling} dangling`).join('; ')}`);
  }
  console.log(`the programs' logs are in ${LOGS}`);
});

test("0. each service's own healthcheck passes against it", (t) => expectPass(t, stack!.healthchecks(['app', 'otel-collector', 'prometheus'])));

for (const name of LIMITED_PROGRAMS) {
  test(`7. ${name}: peak RSS during the load under 70% of its Compose mem_limit`, (t) => expectPass(t, peakRssWithinLimit(peaks, stack!.compose, name)));
}

test('1. exemplar storage is on, and the latency histogram holds exemplars', async (t) => {
  const histogram = exemplars.filter((e) => e.series.__name__ === 'http_request_duration_seconds_bucket');
  const storage = await checkStorage(prometheus, 'http_request_duration_seconds', histogram, 10);
  expectPass(t, { passed: storage.verdict === 'pass', message: storage.summary });
});

for (const [where, metric, route] of [
  ['the /api/users latency histogram', 'http_request_duration_seconds_bucket', '/api/users'],
  ['the /api/orders latency histogram', 'http_request_duration_seconds_bucket', '/api/orders'],
  ['the error counter', 'http_errors_total', undefined],
] as const) {
  test(`1. exemplars on ${where}`, () => {
    assert.ok(
      exemplars.some((e) => e.series.__name__ === metric && (route === undefined || e.series.route === route)),
      `no exemplar on ${where} among the ${exemplars.length} stored`,
    );
  });
}

test("2. every stored exemplar's trace is in the trace store", async (t) => {
  const resolution = await exemplarsResolve(exemplars);
  summary.push(`exemplars checked ${resolution.checked}, resolved ${resolution.resolvedPercent.toFixed(1)}%`);
  expectPass(t, resolution);
});

test("2. ordinary traces are kept at about the Collector's 10%", async (t) => {
  const kept = await ordinaryTracesKept(samples);
  summary.push(`ordinary traces kept ${kept.keptPercent.toFixed(1)}%`);
  expectPass(t, kept);
});

test('9. span metrics count every request, before tail sampling: as many server spans as http_requests_total counts', async (t) => {
  // Totals, not rates: every request of the run is counted by both by now (the last flush and scrape are past), so
  // they must agree whatever the lag of each; only the API routes, the service counts its probes too.
  const [served] = await prometheus.query('sum(http_requests_total{job="exemplar-demo", route=~"/api/.+"})');
  const [spans] = await prometheus.query('sum(traces_span_metrics_calls_total{service_name="exemplar-demo", span_kind="SPAN_KIND_SERVER", http_route=~"/api/.+"})');
  const requests = Number(served?.value[1] ?? 0);
  const counted = Number(spans?.value[1] ?? 0);
  const apart = Math.abs(counted - requests) / Math.max(1, requests);
  summary.push(`span metrics counted ${counted} of ${requests} requests`);
  expectPass(t, {
    passed: requests >= 500 && apart <= 0.02,
    message: `server spans in span metrics ${counted}, requests in http_requests_total ${requests}: ${(100 * apart).toFixed(1)}% apart (goal: within 2%; tail sampling keeps about 10%)`,
  });
});

test('9. the service map: the queries Grafana builds return data, the edges the service makes, and as many requests into the service as http_requests_total counts', async (t) => {
  // The node graph's queries as Grafana's Tempo datasource builds them (harness/service-map.ts, after the plugin's
  // src/datasource.ts makePromServiceMapRequest over src/graphTransform.ts serviceMapMetrics).
  const queries = dashboardServiceMapQueries();
  let withData = 0;
  for (const { expr } of queries) {
    if ((await prometheus.query(substituteDashboardVariables(expr))).length > 0) withData += 1;
    else t.diagnostic(`no data: ${expr}`);
  }
  const edgesQuery = queries.find(({ metric, kind }) => metric === 'traces_service_graph_request_total' && kind === 'edges')!;
  const edges = (await prometheus.query(substituteDashboardVariables(edgesQuery.expr))).map(({ metric }) => `${metric.client} -> ${metric.server}`);
  // Totals, as for span metrics above: the user -> exemplar-demo edge is the service's root SERVER spans, one per
  // request its telemetry middleware records, which also counts http_requests_total. The edge is written when its
  // store entry expires (ttl 2 s), flushed every 5 s and scraped every 5 s: wait for it to catch up. Goal within 2%
  // (as span metrics): both count every request before sampling; only an edge lost from a full store (max_items)
  // or a span later than its edge's expiry may be missing.
  const figures = async () => {
    const [served] = await prometheus.query('sum(http_requests_total{job="exemplar-demo"})');
    const [mapped] = await prometheus.query('sum(traces_service_graph_request_total{client="user", server="exemplar-demo"})');
    const requests = Number(served?.value[1] ?? 0);
    const intoService = Number(mapped?.value[1] ?? 0);
    return { requests, intoService, apart: Math.abs(intoService - requests) / Math.max(1, requests) };
  };
  const { requests, intoService, apart } = (await eventually(async () => {
    const now = await figures();
    return now.requests > 0 && now.apart <= 0.02 ? now : undefined;
  }, { timeoutMs: 20_000, intervalMs: 1000 })) ?? (await figures());
  summary.push(`service map: ${intoService} requests into the service of ${requests}`);
  assert.equal(withData, queries.length, `${withData} of ${queries.length} service-map queries return data`);
  for (const edge of ['user -> exemplar-demo', `exemplar-demo -> ${PAYMENT_SERVICE}`, `exemplar-demo -> ${USER_DATABASE}`]) assert.ok(edges.includes(edge), `edge ${edge} (the map's: ${edges.join(', ')})`);
  expectPass(t, {
    passed: requests >= 500 && apart <= 0.02,
    message: `requests into exemplar-demo on the service map ${intoService}, in http_requests_total ${requests}: ${(100 * apart).toFixed(1)}% apart (goal: within 2%)`,
  });
});

/**
 * The Collector decides at its sampler's next tick (up to 1 s after the root span) and sends in 200 ms batches: a
 * trace is in the store up to about 1.4 s after the Collector accepted its spans, while a scrape may come right
 * after. So the service holds each exemplar EXEMPLAR_HOLD_MS after acceptance (1.5 s in Compose's default and
 * .env.example, which e2e's app runs with) before a scrape shows it.
 */
test('10. no exemplar dot is visible before its trace is in the trace store', async (t) => {
  const figures = visibilityFigures(sightings);
  summary.push(`dots before their trace ${figures.dotsBeforeTrace}/${figures.dots}`);
  expectPass(t, {
    passed: figures.dots >= 20 && figures.dotsBeforeTrace === 0 && figures.neverFound === 0,
    message:
      `${figures.dotsBeforeTrace} of ${figures.dots} dots visible before their trace (goal 0; EXEMPLAR_HOLD_MS=${stack!.compose.services.app!.environment?.EXEMPLAR_HOLD_MS}), ${figures.neverFound} never found; ` +
      `longest wait for the trace ${figures.longestWaitSeconds.toFixed(2)} s; request to trace, where it came after the dot, at most ${figures.longestRequestToTraceSeconds.toFixed(2)} s; ` +
      `request to dot median ${figures.medianRequestToDotSeconds.toFixed(2)} s`,
  });
});

test('3. every scrape interval in which a slow request was counted holds a slow exemplar', async (t) => {
  const coverage = await checkCoverage(prometheus, 'http_request_duration_seconds', exemplars, { slowSeconds: SLOW_SECONDS, windowMinutes: 10 });
  for (const line of coverage.details ?? []) t.diagnostic(`no slow exemplar for ${line}`);
  summary.push(`slow windows with a slow exemplar ${coverage.covered}/${coverage.windows}`);
  expectPass(t, { passed: coverage.windows > 0 && coverage.verdict === 'pass', message: coverage.summary });
});

test('5. the stored traces hold the CLIENT spans the service graph draws its edges from', async (t) => {
  const peers = new Set<string>();
  for (const route of ['/api/users', '/api/orders']) {
    const slow = samples.find((sample) => sample.route === route && sample.status === 200 && sample.seconds >= SLOW_SECONDS && sample.traceId !== undefined);
    if (slow === undefined) continue;
    for (const span of await storedSpans(slow.traceId!)) {
      if (tagOf(span, 'span.kind') !== 'client') continue;
      const peer = tagOf(span, 'peer.service') ?? tagOf(span, 'db.namespace');
      if (typeof peer === 'string') peers.add(`${span.operationName} -> ${peer}`);
    }
  }
  t.diagnostic('the service graph: see the service-map check')
  assert.equal([...peers].sort().join(', '), `SELECT users -> ${USER_DATABASE}, checkPaymentStatus -> ${PAYMENT_SERVICE}`);
});

test('9. dot → trace → log: every exemplar whose request wrote a log line has its trace in the store and that line in Loki (stand-in), with its trace ID', async (t) => {
  // The lines the service wrote inside a request, from its stdout (each names its request's trace).
  const lines = new Map(app!.logs.filter((line) => typeof line.trace_id === 'string').map((line) => [line.trace_id as string, line]));
  const withLine = exemplars.filter((exemplar) => exemplar.traceId !== undefined && lines.has(exemplar.traceId));
  const stored = new Map<string, boolean>();
  let linked = 0;
  for (const { traceId } of withLine) {
    const line = lines.get(traceId!)!;
    // The record as the real Collector forwarded it: the request's trace ID, the line's message and fields.
    const record = logStore!.records.find((r) => r.traceId === traceId && r.body === line.msg && r.spanId === line.span_id && r.attributes.route === line.route);
    if (!stored.has(traceId!)) stored.set(traceId!, await traceFound(traceId!));
    if (record !== undefined && stored.get(traceId!)) linked += 1;
    else t.diagnostic(`trace ${traceId}: ${record === undefined ? 'no log record in the stand-in' : 'not in the trace store'}`);
  }
  summary.push(`dot → trace → log ${linked}/${withLine.length}`);
  assert.deepEqual(logStore!.refused, [], "every request to the stand-in was an OTLP log export on Loki's path");
  expectPass(t, {
    passed: withLine.length > 0 && linked === withLine.length,
    message: `dot → trace → log: ${linked} of ${withLine.length} exemplars whose request wrote a log line (of ${exemplars.length}; ${logStore!.records.length} log records reached the stand-in) (goal 100%)`,
  });
});

test('4. every PromQL expression of the dashboard and of the rules returns data', async (t) => {
  // The span-metrics panel's too, from the Collector's real connector. (The service map's PromQL is Grafana's, not
  // the dashboard's: the service-map check runs it.)
  const dashboard = prometheusTargets().map((target) => ({ source: `dashboard: ${target.panel}`, expr: target.expr }));
  const rules = (parse(readProjectFile('prometheus/rules.yml')) as { groups: { rules: { expr: string; record?: string; alert?: string }[] }[] }).groups
    .flatMap((group) => group.rules)
    .map((rule) => ({ source: `rule: ${rule.record ?? rule.alert}`, expr: rule.expr }));
  const expressions = [...dashboard, ...rules];
  let withData = 0;
  for (const { source, expr } of expressions) {
    const promql = substituteDashboardVariables(expr);
    if ((await prometheus.query(promql)).length > 0) withData += 1;
    else t.diagnostic(`no data: ${source}: ${promql}`);
  }
  summary.push(`expressions with data ${withData}/${expressions.length}`);
  assert.equal(withData, expressions.length, `${withData} of ${expressions.length} PromQL expressions (dashboard and rules) return data`);
});

test('7. the fault-switch annotation: one region while the switch was on, nothing before or after', async (t) => expectPass(t, await faultSwitchRegion(prometheus, samples)));
test("7. HighP99Latency's ALERTS series carry the labels its annotation names", async (t) => expectPass(t, await alertSeriesLabelled(prometheus, samples)));
test('7. the HighP99Latency annotation shows the alert firing', async (t) => expectPass(t, await alertFiringRegion(prometheus, samples)));

test("4. Prometheus scrapes the service, the Collector's own metrics and span metrics, and itself", async () => {
  const upJobs = (await prometheus.query('up')).filter((sample) => sample.value[1] === '1').map((sample) => sample.metric.job);
  assert.ok(['exemplar-demo', 'otel-collector', 'span-metrics', 'prometheus'].every((job) => upJobs.includes(job)), `up: ${upJobs.sort().join(', ')}`);
});

test('6. a slow request (forced through the fault switch) has its trace in the store within 2 s (median)', async (t) => {
  const times: number[] = [];
  await faultSwitch.during({ route: '/api/users', slow_probability: 1, added_latency_ms: 600, duration_seconds: 120 }, async () => {
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${APP}/api/users`);
      await response.arrayBuffer();
      const answeredAt = performance.now();
      const traceId = traceIdOf(response);
      assert.ok(traceId !== undefined, 'the response names its trace in server-timing');
      await eventually(async () => (await traceFound(traceId)) || undefined, { timeoutMs: 60_000, intervalMs: 100 });
      times.push((performance.now() - answeredAt) / 1000);
    }
  });
  summary.push(`time to trace median ${median(times).toFixed(1)} s max ${Math.max(...times).toFixed(1)} s`);
  expectPass(t, {
    passed: median(times) < 2 && Math.max(...times) < 10,
    message: `slow request to its trace in the store: ${times.map((s) => s.toFixed(1)).join(', ')} s (goal: median under 2 s, none over 10 s)`,
  });
});

/**
 * The declarative case (practice 11 of the style guide, as docker-otel-lgtm's): one request in, with a trace ID of
 * our own in its W3C traceparent; then its span must be in the trace store, and its series and its exemplar,
 * pointing at that trace, in Prometheus. The fault switch makes it slow, so nothing is left to chance: a request
 * of 500 ms or more always gets an exemplar (the adaptive policy's EXEMPLAR_THRESHOLD_MS) and always reaches the
 * trace store (the Collector's keep-slow policy, and keep-exemplar-traces for its `exemplar` attribute). Its root is
 * the caller's span, which never arrives, so the Collector decides after its full decision_wait (10 s).
 */
const DECLARED = {
  request: '/api/users',
  fault: { route: '/api/users', slow_probability: 1, added_latency_ms: 600, duration_seconds: 30 },
  span: { name: 'GET /api/users', 'span.kind': 'server', 'http.route': '/api/users', exemplar: true },
  series: { __name__: 'http_request_duration_seconds_bucket', job: 'exemplar-demo', method: 'GET', route: '/api/users', status_code: '200' },
} as const;

const selectorOf = (labels: Readonly<Record<string, string>>) => `{${Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(', ')}}`;

test('8. one request with a known traceparent: its span in the trace store, its series and its exemplar in Prometheus', async (t) => {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  const sentAt = performance.now();
  const response = await faultSwitch.during(DECLARED.fault, async () => {
    const answer = await fetch(`${APP}${DECLARED.request}`, { headers: { traceparent: `00-${traceId}-${parentSpanId}-01` } });
    await answer.arrayBuffer();
    return answer;
  });
  const clientSeconds = (performance.now() - sentAt) / 1000;
  t.diagnostic(`GET ${DECLARED.request} with traceparent 00-${traceId}-${parentSpanId}-01: ${response.status} in ${clientSeconds.toFixed(2)} s`);
  assert.equal(response.status, 200);
  assert.equal(traceIdOf(response), traceId, 'the service continues the trace its traceparent names');

  // The exemplar, on the latency histogram's series of the request, in the bucket of its duration.
  const exemplar = await eventually(async () => (await storedExemplars(prometheus, selectorOf(DECLARED.series), 300)).find((e) => e.traceId === traceId), { timeoutMs: 30_000, intervalMs: 500 });
  assert.ok(exemplar !== undefined, `no exemplar with trace ID ${traceId} on ${selectorOf(DECLARED.series)} within 30 s`);
  assert.deepEqual(Object.fromEntries(Object.keys(DECLARED.series).map((name) => [name, exemplar.series[name]])), DECLARED.series);
  assert.ok(exemplar.value >= SLOW_SECONDS && exemplar.value <= clientSeconds, `the exemplar's value ${exemplar.value} s is the slow request's duration (${clientSeconds.toFixed(3)} s seen by the client)`);
  assert.ok(Number(exemplar.series.le) >= exemplar.value, `the exemplar sits in the bucket of its value (le ${exemplar.series.le})`);
  t.diagnostic(`exemplar ${exemplar.value.toFixed(3)} s on ${selectorOf(exemplar.series)}`);

  // Its series, as Prometheus stores it, counting the request.
  const series = await prometheus.query(selectorOf(exemplar.series));
  assert.ok(series.length === 1 && Number(series[0]!.value[1]) >= 1, `the exemplar's series in Prometheus: ${JSON.stringify(series)}`);

  // The span: the service's server span, a child of the span the traceparent names.
  const span = await eventually(async () => (await storedSpans(traceId)).find((s) => s.references.some((ref) => ref.refType === 'CHILD_OF' && ref.spanID === parentSpanId)), { timeoutMs: 60_000, intervalMs: 500 });
  assert.ok(span !== undefined, `no span of trace ${traceId} with parent ${parentSpanId} in the trace store within 60 s`);
  assert.deepEqual(
    { name: span.operationName, 'span.kind': tagOf(span, 'span.kind'), 'http.route': tagOf(span, 'http.route'), exemplar: tagOf(span, 'exemplar') },
    DECLARED.span,
  );
  t.diagnostic(`span ${span.operationName} (${span.spanID}), child of ${parentSpanId}, in the trace store`);
});

test('the doctor in real misconfigurations, and the Collector killed and restarted', async (t) => {
  const doctor = await runDoctorScenarios(exemplars);
  faults = doctor.faults;
  for (const { passed, message } of doctor.outcomes) await t.test(message, () => assert.ok(passed, message));
});
