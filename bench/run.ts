// `make bench`: the cost of our telemetry, measured in one run against bare Hono (the limit) and against the stock
// OpenTelemetry setup (what a user would pick instead). Prints a markdown table and writes bench/RESULTS.md.
//   node bench/run.ts            the full run (about 11 minutes)
//   node bench/run.ts --smoke    a few seconds, so the harness cannot rot (part of make test)
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { loadConfig } from '../src/config.ts';
import { createService } from '../src/service.ts';
import { AcceptedSpans } from '../src/telemetry/accepted-spans.ts';
import { ATTR_EXEMPLAR } from '../src/telemetry/attributes.ts';
import { CountingCollector } from '../harness/collector.ts';
import { FAST_ENV } from '../harness/fast-path.ts';
import { ROOT } from '../harness/root.ts';
import { SERVICE_ARGS, ServiceProcess } from '../harness/service.ts';
import { quantile, upperMedian } from '../scripts/stats.ts';

const SMOKE = process.argv.includes('--smoke');
const SETTINGS = SMOKE
  ? { rounds: 1, warmupSeconds: 0.3, seconds: 0.7, fixedRateSeconds: 0.7, memorySeconds: 1, coldStarts: 1, renders: 3 }
  : { rounds: 4, warmupSeconds: 2, seconds: 8, fixedRateSeconds: 8, memorySeconds: 60, coldStarts: 5, renders: 50 };
const CONNECTIONS = 16;
const FIXED_RATE = 2000;

type ServerName = 'bare' | 'stock' | 'ours' | 'oursHttp' | 'oursNoExport' | 'oursUnsampled' | 'oursNoTracing';
interface Server {
  label: string;
  args: readonly string[];
  env?: Record<string, string>;
}
const HTTP_PROTOBUF = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
const SERVERS: Record<ServerName, Server> = {
  bare: { label: 'bare Hono, no telemetry', args: ['bench/servers/bare.ts'] },
  stock: { label: 'stock OTel setup (sdk-node + auto-instrumentations defaults)', args: ['--import', './bench/servers/stock-instrumentation.ts', 'bench/servers/bare.ts'] },
  ours: { label: 'exemplar-demo as shipped (every span exported, adaptive exemplars, metrics)', args: SERVICE_ARGS },
  oursHttp: { label: 'ours, http/protobuf (OTEL_EXPORTER_OTLP_PROTOCOL)', args: SERVICE_ARGS, env: HTTP_PROTOBUF },
  // Where the time goes: the same service with spans recorded but not exported, not recorded, and no tracing at all.
  oursNoExport: {
    label: 'ours, every span recorded, export discarded in-process (no serialisation, no gRPC)',
    args: ['--import', './bench/servers/discard-in-process.ts', ...SERVICE_ARGS],
  },
  oursUnsampled: { label: 'ours, sampler always_off (propagation, metrics; no span recorded)', args: SERVICE_ARGS, env: { OTEL_TRACES_SAMPLER: 'always_off' } },
  oursNoTracing: { label: 'ours, OTEL_SDK_DISABLED (middleware and metrics only)', args: SERVICE_ARGS, env: { OTEL_SDK_DISABLED: 'true' } },
};
const NAMES = Object.keys(SERVERS) as ServerName[];

/** The Collector's endpoint for the row's OTLP protocol. */
const endpointOf = (name: ServerName, collector: CountingCollector) =>
  SERVERS[name].env?.OTEL_EXPORTER_OTLP_PROTOCOL === HTTP_PROTOBUF.OTEL_EXPORTER_OTLP_PROTOCOL ? collector.httpEndpoint : collector.grpcEndpoint;

/** The server on the fast path (every simulated latency and probability zero), so the handlers are trivial. */
function startServer(name: ServerName, otlpEndpoint: string): Promise<ServiceProcess> {
  return ServiceProcess.start({ ...FAST_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_SERVICE_NAME: `bench-${name}`, ...SERVERS[name].env }, SERVERS[name].args);
}

interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  /** Exact latencies in milliseconds (from autocannon's response events, not its 1 ms histogram). */
  latenciesMs: number[];
  errors: number;
}

async function load(url: string, seconds: number, overallRate?: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const options: autocannon.Options = {
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ path: '/api/users?limit=10' }, { path: '/api/orders?limit=10' }],
    ...(overallRate === undefined ? {} : { overallRate }),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, finished) => (error ? reject(error) : resolve(finished)));
    instance.on('response', (_client, _status, _bytes, responseTime) => latenciesMs.push(responseTime));
  });
  return { requestsPerSecond: result.requests.average, requests: result.requests.total, latenciesMs, errors: result.errors + result.non2xx };
}

const spread = (values: number[]) => (Math.max(...values) - Math.min(...values)) / upperMedian(values);

// ---------------------------------------------------------------------------------------------- measurements

const perServer = <T>(make: () => T) => Object.fromEntries(NAMES.map((name) => [name, make()])) as Record<ServerName, T>;

async function throughputAndLatency(collector: CountingCollector) {
  const acceptedSpans = async () => {
    const { grpc, http } = await collector.acceptedSpans();
    return grpc + http;
  };
  const rps = perServer<number[]>(() => []);
  const p50AtRate = perServer<number[]>(() => []);
  const p99AtRate = perServer<number[]>(() => []);
  const spansPerRequest = perServer<number[]>(() => []);
  let errors = 0;
  for (let round = 0; round < SETTINGS.rounds; round += 1) {
    // Alternate the order every round, so drift (thermal, other load) does not favour one server.
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
    for (const name of order) {
      const spansBefore = await acceptedSpans();
      const server = await startServer(name, endpointOf(name, collector));
      const warmup = await load(server.baseUrl, SETTINGS.warmupSeconds);
      const saturated = await load(server.baseUrl, SETTINGS.seconds);
      const fixed = await load(server.baseUrl, SETTINGS.fixedRateSeconds, FIXED_RATE);
      // Stopping flushes the server's spans; the Collector counts them before it answers the export.
      await server.stop();
      const exported = (await acceptedSpans()) - spansBefore;
      rps[name].push(saturated.requestsPerSecond);
      p50AtRate[name].push(quantile(fixed.latenciesMs, 0.5));
      p99AtRate[name].push(quantile(fixed.latenciesMs, 0.99));
      spansPerRequest[name].push(exported / (warmup.requests + saturated.requests + fixed.requests));
      errors += saturated.errors + fixed.errors;
      console.error(`round ${round + 1}/${SETTINGS.rounds} ${name}: ${saturated.requestsPerSecond.toFixed(0)} req/s, p99 at ${FIXED_RATE}/s ${p99AtRate[name].at(-1)!.toFixed(2)} ms, ${spansPerRequest[name].at(-1)!.toFixed(2)} spans exported per request`);
    }
  }
  return { rps, p50AtRate, p99AtRate, spansPerRequest, errors };
}

async function memory(otlp: string, deadOtlp: string) {
  const rss: Record<string, number> = {};
  for (const [label, name, endpoint] of [
    ['bare', 'bare', otlp],
    ['ours', 'ours', otlp],
    ['ours, OTLP endpoint down', 'ours', deadOtlp],
  ] as const) {
    const server = await startServer(name, endpoint);
    await load(server.baseUrl, SETTINGS.memorySeconds, FIXED_RATE);
    rss[label] = server.rssMb();
    await server.stop();
  }
  return rss;
}

async function coldStart(collector: CountingCollector) {
  const times = perServer<number[]>(() => []);
  for (let i = 0; i < SETTINGS.coldStarts; i += 1) {
    for (const name of NAMES) {
      const started = performance.now();
      const server = await startServer(name, endpointOf(name, collector));
      while (!(await fetch(`${server.baseUrl}/health`).then((r) => r.ok, () => false))) await sleep(5);
      times[name].push(performance.now() - started);
      await server.stop();
    }
  }
  return times;
}

/** What `npm ci --omit=dev` installs (the Docker image's node_modules): MiB on disk and packages. */
function productionDependencies(): { mib: number; packages: number } {
  const directory = mkdtempSync(join(tmpdir(), 'exemplar-demo-prod-deps-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(directory, file));
    const npm = (args: string[]) => execFileSync('npm', args, { cwd: directory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    npm(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']);
    const kib = Number(execFileSync('du', ['-sk', join(directory, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
    const packages = npm(['ls', '--omit=dev', '--all', '--parseable']).trim().split('\n').length - 1; // minus the project itself
    return { mib: kib / 1024, packages };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** /metrics render time with `routes` synthetic routes, each a histogram and a counter series carrying exemplars. */
async function renderTime(targetSeries: number) {
  const exemplar = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
  // The service's own metrics (src/service.ts), the exemplar rule included, with the exemplars' span accepted.
  const acceptedSpans = new AcceptedSpans();
  const accepting: SpanExporter = { export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: async () => {} };
  acceptedSpans.watch(accepting).export([{ attributes: { [ATTR_EXEMPLAR]: true }, spanContext: () => ({ spanId: exemplar.span_id }) } as unknown as ReadableSpan], () => {});
  const { metrics } = createService(loadConfig({ METRIC_REGIONS: 'eu-west', LOG_LEVEL: 'silent' }), { running: { acceptedSpans, logExportFailuresTo: () => {} } });
  const addRoute = (route: number) => {
    for (const durationSeconds of [0.003, 0.02, 0.3, 3]) {
      metrics.record({ method: 'GET', route: `/bench/${route}`, statusCode: 200, durationSeconds, region: 'eu-west', exemplar });
    }
  };
  const countSeries = async () =>
    (await metrics.render('application/openmetrics-text')).body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  // Every route adds the same series; count them once instead of rendering after each of hundreds of routes.
  addRoute(0);
  const firstRoute = await countSeries();
  addRoute(1);
  const perRoute = (await countSeries()) - firstRoute;
  const routes = 1 + Math.ceil((targetSeries - firstRoute) / perRoute);
  for (let route = 2; route < routes; route += 1) addRoute(route);
  const series = await countSeries();
  const times: number[] = [];
  for (let i = 0; i < SETTINGS.renders; i += 1) {
    const started = performance.now();
    await metrics.render('application/openmetrics-text');
    times.push(performance.now() - started);
  }
  return { series, ms: upperMedian(times) };
}

// ---------------------------------------------------------------------------------------------- report

async function main(): Promise<void> {
  const collector = await CountingCollector.start();
  const deadOtlp = 'http://127.0.0.1:9'; // the discard port: nothing listens there
  try {
    const runs = await throughputAndLatency(collector);
    const rss = await memory(collector.grpcEndpoint, deadOtlp);
    const cold = await coldStart(collector);
    const dependencies = productionDependencies();
    const render1k = await renderTime(1_000);
    const render10k = await renderTime(10_000);

    const rps = (name: ServerName) => upperMedian(runs.rps[name]);
    const ofBare = rps('ours') / rps('bare');
    const ofStock = rps('ours') / rps('stock');
    const addedP99 = upperMedian(runs.p99AtRate.ours) - upperMedian(runs.p99AtRate.bare);
    const coldOurs = upperMedian(cold.ours);
    const targets = [
      ['throughput ≥ 70% of bare', ofBare >= 0.7, `${(100 * ofBare).toFixed(0)}%`],
      ['throughput ≥ 2× stock', ofStock >= 2, `${ofStock.toFixed(2)}×`],
      [`added p99 < 1 ms at ${FIXED_RATE} req/s`, addedP99 < 1, `${addedP99.toFixed(2)} ms`],
      ['/metrics render < 5 ms at 1,000 series', render1k.ms < 5, `${render1k.ms.toFixed(2)} ms`],
      ['RSS < 120 MB under load', rss.ours! < 120, `${rss.ours!.toFixed(0)} MB`],
      ['cold start < 1.5 s', coldOurs < 1500, `${(coldOurs / 1000).toFixed(2)} s`],
    ] as const;

    const row = (name: ServerName) =>
      `| ${SERVERS[name].label} | ${rps(name).toFixed(0)} | ±${(50 * spread(runs.rps[name])).toFixed(0)}% | ${((rps(name) / rps('bare')) * 100).toFixed(0)}% | ${upperMedian(runs.p50AtRate[name]).toFixed(2)} | ${upperMedian(runs.p99AtRate[name]).toFixed(2)} | ${upperMedian(runs.spansPerRequest[name]).toFixed(2)} | ${(upperMedian(cold[name]) / 1000).toFixed(2)} |`;
    const lines = [
      `# Benchmark results${SMOKE ? ' (smoke run: numbers meaningless)' : ''}`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
      `Fast path (simulated latency 0), ${CONNECTIONS} connections (autocannon), every server exporting over OTLP/gRPC (one row over HTTP/protobuf) to the real Collector on the same machine (bench/otelcol.yaml: OTLP receiver, nop exporter; spans counted from its otelcol_receiver_accepted_spans), /api/users and /api/orders alternately; ${SETTINGS.rounds} alternating rounds of ${SETTINGS.seconds} s after ${SETTINGS.warmupSeconds} s of warm-up; median of the rounds, spread = half the range.`,
      '',
      `throughput: ${(100 * ofBare).toFixed(0)}% of bare, ${ofStock.toFixed(2)}× stock`,
      '',
      `| server | req/s | spread | of bare | p50 ms at ${FIXED_RATE}/s | p99 ms at ${FIXED_RATE}/s | spans exported per request | cold start s |`,
      '|---|---|---|---|---|---|---|---|',
      ...NAMES.map(row),
      '',
      `| measure | value |`,
      '|---|---|',
      `| added p99 latency at ${FIXED_RATE} req/s (ours − bare) | ${addedP99.toFixed(2)} ms |`,
      `| http/protobuf against gRPC (ours) | ${((100 * rps('oursHttp')) / rps('ours')).toFixed(0)}% of the req/s, p99 at ${FIXED_RATE}/s ${upperMedian(runs.p99AtRate.oursHttp).toFixed(2)} ms against ${upperMedian(runs.p99AtRate.ours).toFixed(2)} ms |`,
      `| /metrics render, OpenMetrics with exemplars | ${render1k.ms.toFixed(2)} ms at ${render1k.series} series, ${render10k.ms.toFixed(2)} ms at ${render10k.series} series |`,
      ...Object.entries(rss).map(([label, mb]) => `| RSS after ${SETTINGS.memorySeconds} s at ${FIXED_RATE} req/s, ${label} | ${mb.toFixed(0)} MB |`),
      `| production dependencies (npm ci --omit=dev, the image's node_modules) | ${dependencies.mib.toFixed(1)} MiB on disk, ${dependencies.packages} packages |`,
      `| errors during the runs | ${runs.errors} |`,
      '',
      '| target | met | measured |',
      '|---|---|---|',
      ...targets.map(([target, met, measured]) => `| ${target} | ${met ? 'yes' : '**no**'} | ${measured} |`),
      '',
    ];
    const report = lines.join('\n');
    console.log(report);
    if (!SMOKE) writeFileSync(new URL('RESULTS.md', import.meta.url), report);
  } finally {
    await collector.stop();
  }
}

await main();
