// Load for the demo: baseline, spike, recovery against /api/users and /api/orders, with live progress and a
// summary naming the slowest requests' traces. Bounded (2 minutes by default) and stops by itself; Ctrl-C ends it
// early with the summary so far. Its memory is bounded too, for any flag values: it keeps a fixed-bucket histogram
// per route and the few slowest requests, never every request. Run with --help for the flags.
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { grafanaTraceUrl, tempoTraceUrl } from '../src/telemetry/trace-links.ts';
import { type FlagValues, milliseconds, numberFlag, parseFlags, rangeError, run, switchFlag, terminalLink, textFlag, usage } from './cli.ts';
import { FaultSwitchClient } from './fault-switch.ts';
import { sampledTraceIdOf } from './server-timing.ts';
import { Largest, LatencyHistogram } from './stats.ts';

/** The percentiles the progress lines and the summary give: p50, p95, p99. */
const PERCENTILES = [0.5, 0.95, 0.99];

export const LOAD_FLAGS = {
  'base-url': textFlag('URL', 'the service', { default: 'http://127.0.0.1:8080', check: (url) => url.replace(/\/$/, '') }),
  duration: numberFlag('S', 'total seconds', { min: 1, max: 3600, default: 120 }),
  rate: numberFlag('N', 'requests per second in baseline and recovery', { min: 1, max: 2000, default: 20 }),
  concurrency: numberFlag('N', 'requests in flight at most', { min: 1, max: 256, default: 8 }),
  // At most --duration, which parseLoadOptions checks.
  'spike-start': numberFlag('S', 'seconds into the run when the spike starts (within the duration)', { min: 0, max: 3600, defaultText: 'a third of the duration' }),
  'spike-duration': numberFlag('S', 'seconds the spike lasts', { min: 0, max: 600, defaultText: 'a quarter of the duration' }),
  'spike-factor': numberFlag('N', 'rate and concurrency multiplier during the spike', { min: 1, max: 20, default: 4 }),
  'spike-latency-ms': numberFlag('N', 'latency the fault switch adds during the spike (needs --admin-token)', { min: 0, max: 60_000, default: 1500 }),
  'admin-token': textFlag('T', 'token of POST /admin/faults; without it the spike only adds load', { env: 'ADMIN_TOKEN' }),
  slowest: numberFlag('N', 'slow requests to list in the summary', { min: 0, max: 100, default: 5 }),
  'grafana-url': textFlag('URL', 'for the links', { default: 'http://localhost:3000' }),
  'tempo-url': textFlag('URL', 'for the links', { default: 'http://localhost:3200' }),
  json: switchFlag('print the summary as JSON only (no progress)'),
  'samples-file': textFlag('PATH', 'also write every request as a JSON line (route, seconds, status, traceId, endedAt)'),
};

const ROUTES = ['/api/users', '/api/orders'] as const;
const REGIONS = ['eu-west', 'us-east', 'ap-south', 'mars'];
type Phase = 'baseline' | 'spike' | 'recovery';

export interface Sample {
  readonly route: string;
  readonly seconds: number;
  /** 0 when the request failed without a response. */
  readonly status: number;
  /** Undefined when the request was not traced (tracing off, or not sampled at the head). */
  readonly traceId: string | undefined;
  readonly phase: Phase;
  /** Epoch milliseconds. */
  readonly endedAt: number;
}

/** The flags as given, with the spike's start and length computed from --duration when not given. */
type LoadOptions = FlagValues<typeof LOAD_FLAGS> & { readonly 'spike-start': number; readonly 'spike-duration': number };

export function parseLoadOptions(argv: string[], env: NodeJS.ProcessEnv): LoadOptions {
  const flags = parseFlags(argv, LOAD_FLAGS, env);
  const spikeStart = flags['spike-start'] ?? flags.duration / 3;
  if (spikeStart > flags.duration) throw rangeError('spike-start', String(spikeStart), { min: 0, max: flags.duration });
  return { ...flags, 'spike-start': spikeStart, 'spike-duration': flags['spike-duration'] ?? flags.duration / 4 };
}

/** Latencies and errors of a set of requests, in constant memory. */
class Tally {
  readonly latencies = new LatencyHistogram();
  errors = 0;

  record(sample: Sample): void {
    this.latencies.record(sample.seconds);
    if (sample.status === 0 || sample.status >= 500) this.errors += 1;
  }
}

/** --samples-file: every request as a JSON line, written in batches rather than kept. */
class SamplesFile {
  private readonly fd: number;
  private pending: string[] = [];

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(sample: Sample): void {
    this.pending.push(`${JSON.stringify(sample)}\n`);
    if (this.pending.length >= 100) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
  }
}

export class LoadRun {
  requests = 0;
  readonly routes = new Map<string, Tally>(ROUTES.map((route) => [route, new Tally()]));
  private recent = new Tally();
  readonly slowest: Largest<Sample>;
  private readonly samplesFile: SamplesFile | undefined;
  private stopped = false;
  private readonly startedAt = performance.now();
  private readonly options: LoadOptions;
  private faultSet = false;
  /** The fault switch, while a token allows using it. */
  private faultSwitch: FaultSwitchClient | undefined;
  /** Whether the spike went through the fault switch at least once. */
  faultSwitchUsed = false;

  constructor(options: LoadOptions) {
    this.options = options;
    this.slowest = new Largest(options.slowest, (sample) => sample.seconds);
    this.samplesFile = options['samples-file'] === undefined ? undefined : new SamplesFile(options['samples-file']);
    this.faultSwitch = options['admin-token'] === undefined ? undefined : new FaultSwitchClient(options['base-url'], options['admin-token']);
  }

  stop(): void {
    this.stopped = true;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  phase(): Phase {
    const elapsed = this.elapsedSeconds();
    if (elapsed < this.options['spike-start']) return 'baseline';
    return elapsed < this.options['spike-start'] + this.options['spike-duration'] ? 'spike' : 'recovery';
  }

  /** Workers pace themselves so that, together, they send `rate` requests per second (times the spike factor). */
  async drive(): Promise<void> {
    const maxWorkers = Math.ceil(this.options.concurrency * this.options['spike-factor']);
    await Promise.all(Array.from({ length: maxWorkers }, (_, worker) => this.worker(worker)));
  }

  private async worker(index: number): Promise<void> {
    let request = 0;
    while (!this.stopped && this.elapsedSeconds() < this.options.duration) {
      const phase = this.phase();
      const factor = phase === 'spike' ? this.options['spike-factor'] : 1;
      const workers = Math.ceil(this.options.concurrency * factor);
      if (index >= workers) {
        await sleep(100); // an extra worker, idle outside the spike
        continue;
      }
      const began = performance.now();
      await this.request(ROUTES[(index + request) % ROUTES.length]!, index, phase);
      request += 1;
      const interval = (1000 * workers) / (this.options.rate * factor);
      const rest = interval - (performance.now() - began);
      if (rest > 0) await sleep(rest);
    }
  }

  private async request(route: string, worker: number, phase: Phase): Promise<void> {
    const began = performance.now();
    try {
      const response = await fetch(`${this.options['base-url']}${route}?limit=5`, {
        headers: { baggage: `user_id=load-user-${worker},region=${REGIONS[worker % REGIONS.length]}` },
      });
      await response.arrayBuffer();
      this.record({ route, seconds: (performance.now() - began) / 1000, status: response.status, traceId: sampledTraceIdOf(response), phase, endedAt: Date.now() });
    } catch {
      this.record({ route, seconds: (performance.now() - began) / 1000, status: 0, traceId: undefined, phase, endedAt: Date.now() });
    }
  }

  /** The requests since the last call, for a progress line. */
  takeRecent(): Tally {
    const recent = this.recent;
    this.recent = new Tally();
    return recent;
  }

  private record(sample: Sample): void {
    this.requests += 1;
    this.routes.get(sample.route)!.record(sample);
    this.recent.record(sample);
    this.slowest.offer(sample);
    this.samplesFile?.write(sample);
  }

  /** Ends the run's output: the samples file, if any, gets its last lines. */
  close(): void {
    this.samplesFile?.close();
  }

  /** During the spike, the fault switch slows half of all requests, when a token allows it. */
  async setFault(on: boolean): Promise<void> {
    const faultSwitch = this.faultSwitch;
    if (faultSwitch === undefined || on === this.faultSet) return;
    this.faultSet = on;
    try {
      if (on) {
        await faultSwitch.set({
          route: '*',
          slow_probability: 0.5,
          added_latency_ms: this.options['spike-latency-ms'],
          duration_seconds: Math.max(1, Math.ceil(this.options['spike-duration'])),
        });
        this.faultSwitchUsed = true;
      } else await faultSwitch.clear();
    } catch (error) {
      this.faultSwitch = undefined;
      console.error(`\nfault switch: ${(error as Error).message}; the spike adds load only`);
    }
  }
}

interface RouteSummary {
  readonly route: string;
  readonly count: number;
  readonly errors: number;
  readonly p50Seconds: number;
  readonly p95Seconds: number;
  readonly p99Seconds: number;
}

/** One of the slowest requests; the trace and its links only when the request was traced. */
interface SlowRequest {
  readonly route: string;
  readonly seconds: number;
  readonly status: number;
  readonly traceId?: string;
  readonly grafanaUrl?: string;
  readonly tempoUrl?: string;
}

export interface LoadSummary {
  readonly durationSeconds: number;
  readonly requests: number;
  readonly routes: RouteSummary[];
  readonly slowest: SlowRequest[];
  readonly faultSwitchUsed: boolean;
}

export function summarize(run: LoadRun, options: LoadOptions): LoadSummary {
  const routes = [...run.routes].map(([route, tally]) => {
    const [p50Seconds, p95Seconds, p99Seconds] = tally.latencies.quantiles(PERCENTILES) as [number, number, number];
    return { route, count: tally.latencies.count, errors: tally.errors, p50Seconds, p95Seconds, p99Seconds };
  });
  const slowest = run.slowest.items.map(({ route, seconds, status, traceId }) =>
    traceId === undefined
      ? { route, seconds, status }
      : { route, seconds, status, traceId, grafanaUrl: grafanaTraceUrl(options['grafana-url'], traceId), tempoUrl: tempoTraceUrl(options['tempo-url'], traceId) },
  );
  return { durationSeconds: run.elapsedSeconds(), requests: run.requests, routes, slowest, faultSwitchUsed: run.faultSwitchUsed };
}

function progressLine(run: LoadRun): string {
  const recent = run.takeRecent();
  const [p50, p95, p99] = recent.latencies.quantiles(PERCENTILES).map((seconds) => milliseconds(seconds).padStart(7));
  return `${run.elapsedSeconds().toFixed(0).padStart(4)} s  ${run.phase().padEnd(8)}  ${String(recent.latencies.count).padStart(5)} req  p50 ${p50}  p95 ${p95}  p99 ${p99}  errors ${recent.errors}`;
}

/**
 * One line per slow request. On a terminal its trace ID is a hyperlink (OSC 8) to the trace in Grafana; elsewhere
 * (a pipe, a CI log) the line ends with the full URL instead. A request that was not traced has no link to offer.
 */
export function slowRequestLine(slow: SlowRequest, hyperlinks: boolean): string {
  const trace = slow.grafanaUrl === undefined ? 'not traced' : hyperlinks ? terminalLink(slow.grafanaUrl, `trace ${slow.traceId}`) : slow.grafanaUrl;
  return `  ${milliseconds(slow.seconds).padStart(8)}  ${slow.route.padEnd(11)}  ${String(slow.status).padStart(3)}  ${trace}`;
}

function printSummary(summary: LoadSummary, hyperlinks: boolean): void {
  console.log(`\n${summary.requests} requests in ${summary.durationSeconds.toFixed(1)} s${summary.faultSwitchUsed ? ' (spike via the fault switch)' : ''}\n`);
  console.log('route         count  errors      p50      p95      p99');
  for (const route of summary.routes) {
    console.log(
      `${route.route.padEnd(12)} ${String(route.count).padStart(6)} ${String(route.errors).padStart(7)} ${milliseconds(route.p50Seconds).padStart(8)} ${milliseconds(route.p95Seconds).padStart(8)} ${milliseconds(route.p99Seconds).padStart(8)}`,
    );
  }
  if (summary.slowest.length > 0) {
    console.log(`\nThe ${summary.slowest.length} slowest requests (${hyperlinks ? 'click a trace to open it in Grafana' : 'their traces in Grafana'}):`);
    for (const slow of summary.slowest) console.log(slowRequestLine(slow, hyperlinks));
  }
}

async function main(): Promise<number> {
  const options = parseLoadOptions(process.argv.slice(2), process.env);
  const load = new LoadRun(options);
  process.once('SIGINT', () => load.stop());
  process.once('SIGTERM', () => load.stop());

  const live = !options.json && process.stdout.isTTY;
  let lastReport = performance.now();
  const ticker = setInterval(() => {
    void load.setFault(load.phase() === 'spike');
    if (options.json) return;
    const everyMs = live ? 1000 : 5000;
    if (performance.now() - lastReport < everyMs) return;
    const line = progressLine(load);
    lastReport = performance.now();
    if (live) process.stdout.write(`\r\x1b[2K${line}`);
    else console.log(line);
  }, 250);

  await load.drive();
  clearInterval(ticker);
  await load.setFault(false);
  load.close();
  const summary = summarize(load, options);
  if (options.json) console.log(JSON.stringify(summary));
  else printSummary(summary, live);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) run(main, usage('usage: npm run load -- [flags]', LOAD_FLAGS));
