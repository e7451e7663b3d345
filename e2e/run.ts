// The stack proven without Docker (`make e2e`): the real Prometheus and the real Collector run the very files
// docker-compose.yml mounts, unedited, with the service, under bounded load; then every exemplar Prometheus stores
// is looked up in the trace store. Compose host names resolve to their own loopback addresses (/etc/hosts), so each
// program keeps its usual ports. Tempo cannot be had here: Jaeger v2 stands in for it (e2e/jaeger.yaml).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { prometheusTargets } from '../scripts/dashboard.ts';
import { checkDashboardAnnotations } from './dashboard.ts';
import { checkCoverage, checkResolution, checkStorage, lookUpTrace, type StoredExemplar, storedExemplars, type TraceStore } from '../scripts/doctor.ts';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import type { Sample } from '../scripts/load.ts';
import { PAYMENT_SERVICE } from '../src/domain/orders.ts';
import { USER_DATABASE } from '../src/domain/users.ts';
import { resolvedCompose, type ResolvedCompose } from '../harness/compose.ts';
import { healthcheckOf, launchOf, type StandIn } from './compose.ts';
import { reportPeakRss, watchPeakRss } from './memory.ts';
import { peerDir } from '../harness/peers.ts';
import { LOGS, Program, ROOT, WORK } from './program.ts';
import { type FaultFigures, runDoctorScenarios } from './doctor-scenarios.ts';

// 127.0.0.6 and up: the scale profile's services (e2e/scale.ts).
const HOSTS: Record<string, string> = { app: '127.0.0.2', 'otel-collector': '127.0.0.3', tempo: '127.0.0.4', prometheus: '127.0.0.5', 'otel-sampler-1': '127.0.0.6', 'otel-sampler-2': '127.0.0.7', 'prometheus-longterm': '127.0.0.8' };
const HOSTS_MARK = '# exemplar-demo e2e (e2e/run.ts)';
const PROMETHEUS = 'http://prometheus:9090';
const TRACE_STORE = 'http://tempo:16686';
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
export const prometheus = new PrometheusApi(PROMETHEUS);
const traceStore: TraceStore = { api: 'jaeger', url: TRACE_STORE };
/** Requests at least this slow are "slow": the Collector keeps them, and the exemplar policy marks them. */
const SLOW_SECONDS = 0.5;
const LOAD_SECONDS = 40;

// ---------------------------------------------------------------------------------------------- programs

/** Adds the Compose host names to /etc/hosts unless they are there already; returns how to undo it. */
export function mapHostNames(): () => void {
  const original = readFileSync('/etc/hosts', 'utf8');
  const missing = Object.entries(HOSTS).filter(([name, address]) => !new RegExp(`^${address.replaceAll('.', '\\.')}\\s+${name}$`, 'm').test(original));
  if (missing.length === 0) return () => {};
  try {
    writeFileSync('/etc/hosts', `${original.trimEnd()}\n${HOSTS_MARK}\n${missing.map(([name, address]) => `${address} ${name}`).join('\n')}\n`);
  } catch (error) {
    throw new Error(`cannot map the Compose host names in /etc/hosts (${(error as Error).message}); run as root, as CI does`);
  }
  return () => writeFileSync('/etc/hosts', original);
}


// ---------------------------------------------------------------------------------------------- queries

export const traceFound = async (traceId: string): Promise<boolean> => (await lookUpTrace(traceStore, traceId, 5000)) === 'found';

type StoredSpan = { operationName: string; tags: { key: string; value: unknown }[] };

/** The spans of a stored trace (Jaeger's API). */
async function storedSpans(traceId: string): Promise<StoredSpan[]> {
  const body = (await (await fetch(`${TRACE_STORE}/api/traces/${traceId}`)).json()) as { data: { spans: StoredSpan[] }[] };
  return body.data.flatMap((trace) => trace.spans);
}

const tagOf = (span: StoredSpan, key: string): unknown => span.tags.find((tag) => tag.key === key)?.value;

/** The server span attributes of a stored trace, to tell exemplar-marked traces apart. */
async function isExemplarMarked(traceId: string): Promise<boolean> {
  return (await storedSpans(traceId)).some((span) => tagOf(span, 'exemplar') === true);
}

/** The service map's edges in the stored traces: the payment check and the users query are CLIENT spans naming their peer. */
async function checkServiceMapSpans(samples: Sample[]): Promise<void> {
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
  const found = [...peers].sort().join(', ');
  check(found === `SELECT users -> ${USER_DATABASE}, checkPaymentStatus -> ${PAYMENT_SERVICE}`, `CLIENT spans for the service map in the trace store: ${found}`);
}

// ---------------------------------------------------------------------------------------------- checks

export interface Figures {
  exemplarsChecked: number;
  exemplarsResolvedPercent: number;
  ordinaryKeptPercent: number;
  windowsWithSlow: number;
  windowsWithSlowExemplar: number;
  expressionsWithData: number;
  expressions: number;
  timeToTraceSeconds: number[];
}

export const failures: string[] = [];
export let passed = 0;
export function check(condition: boolean, message: string): void {
  if (condition) passed += 1;
  console.log(`${condition ? 'ok  ' : 'FAIL'}  ${message}`);
  if (!condition) failures.push(message);
}

async function checkExemplarsStored(): Promise<StoredExemplar[]> {
  const exemplars = await storedExemplars(prometheus, '{job="exemplar-demo", __name__=~"http_request_duration_seconds_bucket|http_requests_total|http_errors_total"}', 600);
  const histogram = exemplars.filter((e) => e.series.__name__ === 'http_request_duration_seconds_bucket');
  const storage = await checkStorage(prometheus, 'http_request_duration_seconds', histogram, 10);
  check(storage.verdict === 'pass', `1. ${storage.summary}`);
  const has = (name: string, route?: string) => exemplars.some((e) => e.series.__name__ === name && (route === undefined || e.series.route === route));
  check(has('http_request_duration_seconds_bucket', '/api/users'), '1. exemplars on the /api/users latency histogram');
  check(has('http_request_duration_seconds_bucket', '/api/orders'), '1. exemplars on the /api/orders latency histogram');
  check(has('http_errors_total'), '1. exemplars on the error counter');
  return exemplars;
}

export async function checkExemplarsResolve(exemplars: StoredExemplar[], samples: Sample[], figures: Figures): Promise<void> {
  // Every exemplar's trace looked up by ID with the doctor's code; the run waited past the tail-sampling decision.
  const resolution = await checkResolution(exemplars, traceStore, { pendingSeconds: 0, bounds: { max: 10_000, concurrency: 8, timeoutMs: 5000 } });
  figures.exemplarsChecked = resolution.checked;
  figures.exemplarsResolvedPercent = (100 * resolution.resolved) / Math.max(1, resolution.checked);
  check(resolution.checked > 0 && resolution.result.verdict === 'pass', `2. exemplar traces: ${resolution.result.summary}`);

  // Ordinary requests: fast, successful. Exemplar-marked ones are always kept, so they are left out of the share.
  const ordinary = samples.filter((sample) => sample.status === 200 && sample.seconds < SLOW_SECONDS && sample.traceId !== undefined);
  const kept = (await Promise.all(ordinary.map(async (sample) => ((await traceFound(sample.traceId!)) ? sample : undefined)))).filter((s) => s !== undefined);
  const marked = (await Promise.all(kept.map((sample) => isExemplarMarked(sample.traceId!)))).filter(Boolean).length;
  const share = (kept.length - marked) / Math.max(1, ordinary.length - marked);
  figures.ordinaryKeptPercent = 100 * share;
  check(ordinary.length - marked >= 300 && share >= 0.05 && share <= 0.16, `2. ordinary traces kept: ${(100 * share).toFixed(1)}% of ${ordinary.length - marked} (configured 10%)`);
}

/** Every scrape interval in which a slow request was counted holds a slow exemplar (the doctor's coverage check). */
async function checkSlowWindows(exemplars: StoredExemplar[], figures: Figures): Promise<void> {
  const coverage = await checkCoverage(prometheus, 'http_request_duration_seconds', exemplars, { slowSeconds: SLOW_SECONDS, windowMinutes: 10 });
  for (const line of coverage.details ?? []) console.log(`      no slow exemplar for ${line}`);
  figures.windowsWithSlow = coverage.windows;
  figures.windowsWithSlowExemplar = coverage.covered;
  check(coverage.windows > 0 && coverage.verdict === 'pass', `3. ${coverage.summary}`);
}

/** Each service's own healthcheck, as docker-compose.yml (or the app's Dockerfile) states it, passes against it. */
export function checkHealthchecks(compose: ResolvedCompose, prometheusDir: string, names: readonly string[]): void {
  const results = names.map((name) => {
    const [command, ...args] = healthcheckOf(compose, name, { promtool: join(prometheusDir, 'promtool') })!;
    try {
      execFileSync(command!, args, { stdio: 'ignore', timeout: 10_000 });
      return `${name} ok`;
    } catch {
      return `${name} FAILED (${[command, ...args].join(' ')})`;
    }
  });
  check(results.every((result) => result.endsWith(' ok')), `the services' own healthchecks pass: ${results.join(', ')}`);
}

async function checkExpressions(figures: Figures): Promise<void> {
  // Tempo's span metrics and service graph cannot be had here: test/dashboard.test.ts checks those names.
  const dashboard = prometheusTargets().filter((target) => target.writtenBy === 'service').map((target) => ({ source: `dashboard: ${target.panel}`, expr: target.expr }));
  const rules = (parse(readFileSync(join(ROOT, 'prometheus/rules.yml'), 'utf8')) as { groups: { rules: { expr: string; record?: string; alert?: string }[] }[] }).groups
    .flatMap((group) => group.rules)
    .map((rule) => ({ source: `rule: ${rule.record ?? rule.alert}`, expr: rule.expr }));
  let withData = 0;
  for (const { source, expr } of [...dashboard, ...rules]) {
    const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$route', '.+');
    if ((await prometheus.query(promql)).length > 0) withData += 1;
    else console.log(`      no data: ${source}: ${promql}`);
  }
  figures.expressions = dashboard.length + rules.length;
  figures.expressionsWithData = withData;
  check(withData === figures.expressions, `4. ${withData} of ${figures.expressions} PromQL expressions (dashboard and rules) return data`);
}

/** Slow requests forced one at a time through the fault switch; each timed from its response to its trace being found. */
async function measureTimeToTrace(figures: Figures): Promise<void> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  await fetch('http://app:8080/admin/faults', {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ route: '/api/users', slow_probability: 1, added_latency_ms: 600, duration_seconds: 120 }),
  });
  for (let i = 0; i < 5; i += 1) {
    const response = await fetch('http://app:8080/api/users');
    await response.arrayBuffer();
    const answeredAt = performance.now();
    const traceId = /00-([0-9a-f]{32})-/.exec(response.headers.get('server-timing') ?? '')![1]!;
    while (!(await traceFound(traceId))) {
      if (performance.now() - answeredAt > 60_000) break;
      await sleep(100);
    }
    figures.timeToTraceSeconds.push((performance.now() - answeredAt) / 1000);
  }
  await fetch('http://app:8080/admin/faults', { method: 'DELETE', headers: admin });
  const worst = Math.max(...figures.timeToTraceSeconds);
  check(worst < 10, `6. slow request to its trace in the store: ${figures.timeToTraceSeconds.map((s) => s.toFixed(1)).join(', ')} s (goal under 10 s)`);
}

// ---------------------------------------------------------------------------------------------- main

/** The service as Compose runs it, with the slow paths and failures more frequent so a short run shows them. */
/** The slow paths and failures more frequent than the defaults, so that a short run shows them. */
const APP_TEST_ENV = { USERS_SLOW_PROBABILITY: '0.1', PAYMENT_SLOW_PROBABILITY: '0.15', PAYMENT_FAILURE_PROBABILITY: '0.05' };

/**
 * The stack as Compose resolves it with `envFiles` (the user's .env is .env.example plus a token for the fault
 * switch; scale.env may follow), and a way to start one of its services with the programs built here.
 */
export function composeStack(envFiles: readonly string[], programs: Program[], volumeDirs: Map<string, string>) {
  const dotEnv = join(WORK, '.env');
  writeFileSync(dotEnv, `${readFileSync(join(ROOT, '.env.example'), 'utf8')}\nADMIN_TOKEN=${ADMIN_TOKEN}\n`);
  const compose = resolvedCompose([dotEnv, ...envFiles]);
  const prometheusDir = peerDir('prometheus');
  const standIns: Record<string, StandIn> = {
    '/otelcol-contrib': { program: join(peerDir('otelcol'), 'otelcol') },
    '/bin/prometheus': { program: join(prometheusDir, 'prometheus'), listenOn: (host) => [`--web.listen-address=${host}:9090`] },
  };
  return {
    compose,
    prometheusDir,
    /** Starts `name` as its own log name says (`logName`, by default the service name). */
    launch(name: string, logName = name): Program {
      const { command, args, env } = launchOf(compose, name, standIns, volumeDirs);
      const program = new Program(logName, command, args, name === 'app' ? { ...env, ...APP_TEST_ENV } : env);
      programs.push(program);
      return program;
    },
  };
}

async function main(): Promise<number> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  const jaegerDir = peerDir('jaeger');
  const unmapHosts = mapHostNames();
  const volumeDirs = new Map<string, string>();
  const programs: Program[] = [];
  const figures: Figures = {
    exemplarsChecked: 0,
    exemplarsResolvedPercent: 0,
    ordinaryKeptPercent: 0,
    windowsWithSlow: 0,
    windowsWithSlowExemplar: 0,
    expressionsWithData: 0,
    expressions: 0,
    timeToTraceSeconds: [],
  };
  let faultFigures: FaultFigures[] = [];
  try {
    const { compose, prometheusDir, launch } = composeStack([], programs, volumeDirs);
    const traceStore = new Program('tempo-stand-in-jaeger', join(jaegerDir, 'jaeger'), ['--config', join(ROOT, 'e2e/jaeger.yaml')]);
    programs.push(traceStore);
    await traceStore.waitReady(`${TRACE_STORE}/api/services`);
    await launch('otel-collector').waitReady('http://otel-collector:13133/');
    await launch('app').waitReady('http://app:8080/ready');
    await launch('prometheus').waitReady(`${PROMETHEUS}/-/ready`);
    checkHealthchecks(compose, prometheusDir, ['app', 'otel-collector', 'prometheus']);

    console.log(`load: ${LOAD_SECONDS} s of baseline, spike (fault switch) and recovery through scripts/load.ts`);
    const samplesFile = join(WORK, 'samples.jsonl');
    const rss = watchPeakRss(programs);
    execFileSync(
      process.execPath,
      ['scripts/load.ts', '--base-url', 'http://app:8080', '--duration', String(LOAD_SECONDS), '--rate', '40', '--concurrency', '8', '--spike-start', '12', '--spike-duration', '10', '--spike-latency-ms', '1200', '--admin-token', ADMIN_TOKEN, '--json', '--samples-file', samplesFile],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    reportPeakRss(await rss.stop(), compose, check);
    const samples = readFileSync(samplesFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Sample);
    // The tail-sampling decision (2 s after the root span), the export batches, and two more scrapes.
    await sleep(12_000);

    const exemplars = await checkExemplarsStored();
    await checkExemplarsResolve(exemplars, samples, figures);
    await checkSlowWindows(exemplars, figures);
    await checkServiceMapSpans(samples);
    await checkExpressions(figures);
    await checkDashboardAnnotations(PROMETHEUS, samples, check);
    const upJobs = (await prometheus.query('up')).filter((sample) => sample.value[1] === '1').map((sample) => sample.metric.job);
    check(['exemplar-demo', 'otel-collector', 'prometheus'].every((job) => upJobs.includes(job)), `Prometheus scrapes the service, the Collector's own metrics and itself (up: ${upJobs.sort().join(', ')})`);
    console.log('n/a   5. Tempo span metrics and service graph through remote write: Tempo cannot run here (see README)');
    await measureTimeToTrace(figures);
    faultFigures = await runDoctorScenarios(check, exemplars);
  } finally {
    for (const program of programs.reverse()) await program.stop();
    unmapHosts();
    for (const directory of volumeDirs.values()) rmSync(directory, { recursive: true, force: true });
  }

  const sorted = [...figures.timeToTraceSeconds].sort((a, b) => a - b);
  console.log(
    `\nsummary: exemplars checked ${figures.exemplarsChecked}, resolved ${figures.exemplarsResolvedPercent.toFixed(1)}%, ` +
      `ordinary traces kept ${figures.ordinaryKeptPercent.toFixed(1)}%, slow windows with a slow exemplar ${figures.windowsWithSlowExemplar}/${figures.windowsWithSlow}, ` +
      `expressions with data ${figures.expressionsWithData}/${figures.expressions}, time to trace median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s max ${sorted.at(-1)?.toFixed(1)} s`,
  );
  for (const { scenario, slices } of faultFigures) {
    console.log(`${scenario}: ${slices.map((s) => `${s.name} ${s.resolved}/${s.checked} resolve, ${s.dangling} dangling`).join('; ')}`);
  }
  console.log(`e2e: ${passed} passed, ${failures.length} failed`);
  if (failures.length > 0) {
    console.log(`the programs' logs are in ${LOGS}`);
    return 1;
  }
  return 0;
}

/** Runs a harness and exits with its code; on an exception, says where the programs' logs are. */
export function exitWith(harness: () => Promise<number>): void {
  harness().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      console.error(`the programs' logs are in ${LOGS}`);
      process.exit(1);
    },
  );
}

// e2e/scale.ts imports the helpers above; only `node e2e/run.ts` runs the single stack.
if (import.meta.main) exitWith(main);
