// What both e2e suites share (e2e/run.ts, the single stack; e2e/scale.ts, the scale profile): the stack as Compose
// resolves it, started with the programs built here under the Compose host names, and closed again however far a
// run got; the load; the trace store's answers; and the checks both suites make.
// Compose host names resolve to their own loopback addresses (/etc/hosts), so each program keeps its usual ports.
// Tempo cannot be had here: Jaeger v2 stands in for it (e2e/jaeger.yaml); Loki neither: e2e/loki-stand-in.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { checkResolution, lookUpTrace, type Resolution, type StoredExemplar, type TraceStore } from '../scripts/doctor.ts';
import type { Sample } from '../scripts/load.ts';
import { resolvedCompose, type ResolvedCompose } from '../harness/compose.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';
import { peerDir } from '../harness/peers.ts';
import { healthcheckOf, launchOf, type StandIn } from './compose.ts';
import { LokiStandIn } from './loki-stand-in.ts';
import { LOGS, Program, WORK } from './program.ts';

// 127.0.0.6 to .8: the scale profile's services (e2e/scale.ts).
const HOSTS: Record<string, string> = { app: '127.0.0.2', 'otel-collector': '127.0.0.3', tempo: '127.0.0.4', prometheus: '127.0.0.5', 'otel-sampler-1': '127.0.0.6', 'otel-sampler-2': '127.0.0.7', 'prometheus-longterm': '127.0.0.8', loki: '127.0.0.9' };
const HOSTS_MARK = '# exemplar-demo e2e (e2e/stack.ts)';
export const APP = 'http://app:8080';
const TRACE_STORE = 'http://tempo:16686';
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const traceStore: TraceStore = { api: 'jaeger', url: TRACE_STORE };
/** Requests at least this slow are "slow": the Collector keeps them, and the exemplar policy marks them. */
export const SLOW_SECONDS = 0.5;
/** The service's metrics that carry exemplars. */
export const EXEMPLAR_SELECTOR = '{job="exemplar-demo", __name__=~"http_request_duration_seconds_bucket|http_requests_total|http_errors_total"}';
/** The slow paths and failures more frequent than the defaults, so that a short run shows them. */
const APP_TEST_ENV = { USERS_SLOW_PROBABILITY: '0.1', PAYMENT_SLOW_PROBABILITY: '0.15', PAYMENT_FAILURE_PROBABILITY: '0.05' };

// ---------------------------------------------------------------------------------------------- outcomes

/** What one check found: whether it passed, and one line saying what it measured. */
export interface Outcome {
  readonly passed: boolean;
  readonly message: string;
}

/** Shows the check's line under test `t`, and fails the test with it when the check failed. */
export function expectPass(t: TestContext, { passed, message }: Outcome): void {
  t.diagnostic(message);
  assert.ok(passed, message);
}

// ---------------------------------------------------------------------------------------------- the stack

/** Adds the Compose host names to /etc/hosts unless they are there already; returns how to undo it. */
function mapHostNames(): () => void {
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

/**
 * One e2e run's stack: docker-compose.yml as Compose resolves it with `envFiles` (the user's .env is .env.example
 * plus a token for the fault switch; scale.env may follow), its services started one by one with the programs
 * built here. `close()` stops every program, gives /etc/hosts back and removes the volumes' directories, whatever
 * was started by then.
 */
export class Stack {
  readonly compose: ResolvedCompose;
  private readonly prometheusDir: string;
  private readonly standIns: Record<string, StandIn>;
  private readonly programs: Program[] = [];
  private logStore: LokiStandIn | undefined;
  private readonly volumeDirs = new Map<string, string>();
  private readonly unmapHosts: () => void;

  constructor(envFiles: readonly string[]) {
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(LOGS, { recursive: true });
    const dotEnv = join(WORK, '.env');
    writeFileSync(dotEnv, `${readProjectFile('.env.example')}\nADMIN_TOKEN=${ADMIN_TOKEN}\n`);
    this.compose = resolvedCompose([dotEnv, ...envFiles]);
    this.prometheusDir = peerDir('prometheus');
    this.standIns = {
      '/otelcol-contrib': { program: join(peerDir('otelcol'), 'otelcol') },
      '/bin/prometheus': { program: join(this.prometheusDir, 'prometheus'), listenOn: (host) => [`--web.listen-address=${host}:9090`] },
    };
    // Last: nothing above needs undoing if it throws.
    this.unmapHosts = mapHostNames();
  }

  /** Starts service `name` as Compose runs it, logging as `logName` (by default the service name). */
  launch(name: string, logName = name): Program {
    const { command, args, env } = launchOf(this.compose, name, this.standIns, this.volumeDirs);
    return this.started(new Program(logName, command, args, name === 'app' ? { ...env, ...APP_TEST_ENV } : env));
  }

  /** Jaeger, Tempo's stand-in, listening where Tempo would (tempo:4317 for OTLP), ready to answer lookups. */
  async startTraceStore(): Promise<void> {
    const jaeger = this.started(new Program('tempo-stand-in-jaeger', join(peerDir('jaeger'), 'jaeger'), ['--config', join(ROOT, 'e2e/jaeger.yaml')]));
    await jaeger.waitReady(`${TRACE_STORE}/api/services`);
  }

  /** Loki's stand-in, listening where Loki would (loki:3100, the port the loki service's container listens on). */
  async startLogStore(): Promise<LokiStandIn> {
    const port = Number(this.compose.services.loki!.ports![0]!.target);
    this.logStore = await LokiStandIn.start(HOSTS.loki!, port);
    return this.logStore;
  }

  /** The programs running now, in the order they were started. */
  get running(): readonly Program[] {
    return this.programs;
  }

  /** Each service's own healthcheck, as docker-compose.yml (or the app's Dockerfile) states it, run against it. */
  healthchecks(names: readonly string[]): Outcome {
    const results = names.map((name) => {
      const [command, ...args] = healthcheckOf(this.compose, name, { promtool: join(this.prometheusDir, 'promtool') })!;
      try {
        execFileSync(command!, args, { stdio: 'ignore', timeout: 10_000 });
        return `${name} ok`;
      } catch {
        return `${name} FAILED (${[command, ...args].join(' ')})`;
      }
    });
    return { passed: results.every((result) => result.endsWith(' ok')), message: `the services' own healthchecks pass: ${results.join(', ')}` };
  }

  async close(): Promise<void> {
    try {
      for (const program of [...this.programs].reverse()) await program.stop();
      await this.logStore?.stop();
    } finally {
      this.unmapHosts();
      for (const directory of this.volumeDirs.values()) rmSync(directory, { recursive: true, force: true });
    }
  }

  private started(program: Program): Program {
    this.programs.push(program);
    return program;
  }
}

/**
 * scripts/load.ts against the app for `seconds`, at 40 requests per second, 8 at a time, with `more` of its flags
 * (the spike); resolves with every request's sample.
 */
export async function runLoad(seconds: number, samplesFile: string, more: readonly string[]): Promise<Sample[]> {
  await runLoadScript(basename(samplesFile, '.jsonl').replace('samples', 'load'), ['--base-url', APP, '--duration', String(seconds), '--rate', '40', '--concurrency', '8', '--admin-token', ADMIN_TOKEN, '--json', '--samples-file', samplesFile, ...more]);
  return readFileSync(samplesFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Sample);
}

/** scripts/load.ts with `args`, to its end (bounded by its --duration); its output goes to .e2e/logs/`logName`.log. */
export async function runLoadScript(logName: string, args: readonly string[]): Promise<void> {
  const { code } = await new Program(logName, process.execPath, ['scripts/load.ts', ...args]).exit;
  if (code !== 0) throw new Error(`the load script exited with ${code}; see ${join(LOGS, `${logName}.log`)}`);
}

// ---------------------------------------------------------------------------------------------- the trace store

export const traceFound = async (traceId: string): Promise<boolean> => (await lookUpTrace(traceStore, traceId, 5000)) === 'found';

/** Every exemplar's trace looked up in the trace store with the doctor's code, none left pending or unsampled. */
export const resolveExemplars = (exemplars: readonly StoredExemplar[]): Promise<Resolution> =>
  checkResolution(exemplars, traceStore, { pendingSeconds: 0, bounds: { max: 10_000, concurrency: 8, timeoutMs: 5000 } });

interface StoredSpan {
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly { readonly refType: string; readonly spanID: string }[];
  readonly tags: readonly { readonly key: string; readonly value: unknown }[];
}

/** The spans of a stored trace (Jaeger's API); none when it is not stored. */
export async function storedSpans(traceId: string): Promise<StoredSpan[]> {
  const response = await fetch(`${TRACE_STORE}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5000) });
  if (response.status === 404) return [];
  const body = (await response.json()) as { data: { spans: StoredSpan[] }[] };
  return body.data.flatMap((trace) => trace.spans);
}

export const tagOf = (span: StoredSpan, key: string): unknown => span.tags.find((tag) => tag.key === key)?.value;

// ---------------------------------------------------------------------------------------------- checks

/** Every exemplar's trace looked up by ID with the doctor's code; the run waited past the tail-sampling decision. */
export async function exemplarsResolve(exemplars: readonly StoredExemplar[]): Promise<Outcome & { checked: number; resolvedPercent: number }> {
  const resolution = await resolveExemplars(exemplars);
  return {
    passed: resolution.checked > 0 && resolution.result.verdict === 'pass',
    message: `exemplar traces: ${resolution.result.summary}`,
    checked: resolution.checked,
    resolvedPercent: (100 * resolution.resolved) / Math.max(1, resolution.checked),
  };
}

/** Ordinary requests (fast, successful) whose trace the Collector kept: about its 10%. */
export async function ordinaryTracesKept(samples: readonly Sample[]): Promise<Outcome & { keptPercent: number }> {
  const ordinary = samples.filter((sample) => sample.status === 200 && sample.seconds < SLOW_SECONDS && sample.traceId !== undefined);
  // One lookup per trace: any span means it was kept; a span with `exemplar` means the service marked it, and the
  // Collector keeps those always, so they are left out of the share.
  const stored = await Promise.all(ordinary.map((sample) => storedSpans(sample.traceId!)));
  const kept = stored.filter((spans) => spans.length > 0);
  const marked = kept.filter((spans) => spans.some((span) => tagOf(span, 'exemplar') === true)).length;
  const share = (kept.length - marked) / Math.max(1, ordinary.length - marked);
  return {
    passed: ordinary.length - marked >= 300 && share >= 0.05 && share <= 0.16,
    message: `ordinary traces kept: ${(100 * share).toFixed(1)}% of ${ordinary.length - marked} (configured 10%)`,
    keptPercent: 100 * share,
  };
}
