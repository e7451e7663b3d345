// Exemplars in Prometheus, for people: `npm run exemplars` lists the slowest (the traces worth opening);
// `npm run exemplars -- doctor` checks that every exemplar dot opens its trace (scripts/doctor.ts).
// Run with --help for the flags.
import { grafanaTraceUrl, tempoTraceUrl } from '../src/telemetry/trace-links.ts';
import { choiceFlag, Explained, type FlagValues, milliseconds, numberFlag, parseFlags, run, switchFlag, textFlag, usage, UsageError } from './cli.ts';
import { DEFAULT_LOOKUPS, EXIT, exemplarStorageOn, type GrafanaSource, runDoctor, storedExemplars } from './doctor.ts';
import { PrometheusApi, PrometheusError, Unreachable } from './prometheus-api.ts';

/** A URL flag: http(s) only, trailing slash dropped; anything else exits 9 with one sentence. */
function httpUrl(url: string, name: string): string {
  if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol)) {
    throw new Explained(`--${name} is not a valid http(s) URL: "${url}".`, EXIT.malformedUrl);
  }
  return url.replace(/\/$/, '');
}

const url = (help: string, fallback: string) => textFlag('URL', help, { default: fallback, check: httpUrl });
const prometheusUrl = url('Prometheus', 'http://localhost:9090');
const minutes = numberFlag('N', 'how far back to look', { min: 1, max: 1440, default: 15 });
const json = switchFlag('print JSON for scripts');

export const LIST_FLAGS = {
  'prometheus-url': prometheusUrl,
  minutes,
  route: textFlag('R', 'only this route template, e.g. /api/orders'),
  limit: numberFlag('N', 'how many to list', { min: 1, max: 1000, default: 10 }),
  'grafana-url': url('for the links', 'http://localhost:3000'),
  'tempo-url': url('for the links', 'http://localhost:3200'),
  json,
};

export const DOCTOR_FLAGS = {
  'prometheus-url': prometheusUrl,
  'trace-store-url': url("Tempo's HTTP API, or Jaeger's query service", 'http://localhost:3200'),
  'trace-api': choiceFlag(['tempo', 'jaeger'], 'tempo: GET /api/v2/traces/<id>; jaeger: GET /api/traces/<id>', 'tempo'),
  metric: textFlag('NAME', 'a latency histogram, without _bucket', {
    default: 'http_request_duration_seconds',
    check: (metric, name) => {
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) throw new UsageError(`--${name} must be a metric name, got "${metric}"`);
      return metric;
    },
  }),
  minutes,
  'slow-seconds': numberFlag('S', 'requests above the bucket bound at or below S are slow', { min: 0.001, max: 3600, default: 0.5 }),
  'pending-seconds': numberFlag('S', 'exemplars younger than this wait for tail sampling: pending', { min: 0, max: 3600, default: 30 }),
  'max-lookups': numberFlag('N', 'traces looked up at most, an even sample beyond', { min: 1, max: 10_000, default: DEFAULT_LOOKUPS.max }),
  concurrency: numberFlag('N', 'lookups in flight', { min: 1, max: 16, default: DEFAULT_LOOKUPS.concurrency }),
  'lookup-timeout-ms': numberFlag('N', 'per lookup', { min: 100, max: 60_000, default: DEFAULT_LOOKUPS.timeoutMs }),
  'grafana-url': textFlag('URL', "check the exemplar links in Grafana's Prometheus datasource (its API)", { check: httpUrl }),
  'grafana-token': textFlag('T', 'a service account token for that API', { env: 'GRAFANA_TOKEN' }),
  'grafana-datasources': textFlag('F', 'or check them in a provisioning file instead'),
  'datasource-uid': textFlag('UID', 'the Prometheus datasource', { defaultText: 'the default one, else the first' }),
  json,
};

const USAGE = [
  usage('usage: npm run exemplars -- [flags]          the slowest exemplars, with links', LIST_FLAGS),
  '',
  usage('usage: npm run exemplars -- doctor [flags]   does every exemplar dot open its trace? (only reads)', DOCTOR_FLAGS),
  'exit codes: 0 all checks pass, 1 a check failed, 2 bad flag, 3 Prometheus unreachable, 5 trace store unreachable,',
  '  6 Grafana unreachable, 7 Grafana refused the token, 8 no such metric, 9 malformed URL',
].join('\n');

/** The list command's exit code when Prometheus keeps no exemplars at all. */
const EXIT_STORAGE_OFF = 4;

export interface ListedExemplar {
  route: string;
  seconds: number;
  time: string;
  traceId: string;
  spanId: string;
  grafanaUrl: string;
  tempoUrl: string;
}

async function listExemplars(options: FlagValues<typeof LIST_FLAGS>): Promise<ListedExemplar[]> {
  const prometheus = new PrometheusApi(options['prometheus-url']);
  if (!(await exemplarStorageOn(prometheus))) {
    throw new Explained(
      `exemplar storage is off in Prometheus at ${options['prometheus-url']}: start it with --enable-feature=exemplar-storage (docker-compose.yml does).`,
      EXIT_STORAGE_OFF,
    );
  }
  const selector = options.route === undefined ? '' : `route=${JSON.stringify(options.route)}`;
  const byTrace = new Map<string, ListedExemplar>();
  for (const exemplar of await storedExemplars(prometheus, `http_request_duration_seconds_bucket{${selector}}`, options.minutes * 60)) {
    const { traceId } = exemplar;
    if (traceId === undefined || byTrace.has(traceId)) continue;
    byTrace.set(traceId, {
      route: exemplar.series.route ?? '',
      seconds: exemplar.value,
      time: new Date(exemplar.timestamp * 1000).toISOString(),
      traceId,
      spanId: exemplar.labels.span_id ?? '',
      grafanaUrl: grafanaTraceUrl(options['grafana-url'], traceId),
      tempoUrl: tempoTraceUrl(options['tempo-url'], traceId),
    });
  }
  return [...byTrace.values()].sort((a, b) => b.seconds - a.seconds).slice(0, options.limit);
}

async function list(argv: string[]): Promise<number> {
  const options = parseFlags(argv, LIST_FLAGS);
  const exemplars = await listExemplars(options);
  if (options.json) {
    console.log(JSON.stringify(exemplars));
    return 0;
  }
  if (exemplars.length === 0) {
    console.log(
      `No exemplars in the last ${options.minutes} minutes${options.route === undefined ? '' : ` for ${options.route}`}. ` +
        'Either no traffic reached the service (npm run load), Prometheus scrapes it as text instead of OpenMetrics ' +
        '(scrape_protocols), or the exemplar policy attached none yet (EXEMPLAR_POLICY=always shows every request).',
    );
    return 0;
  }
  console.log(`The ${exemplars.length} slowest exemplars of the last ${options.minutes} minutes:\n`);
  for (const exemplar of exemplars) {
    console.log(`${milliseconds(exemplar.seconds).padStart(8)}  ${exemplar.route.padEnd(12)} ${exemplar.time}  trace ${exemplar.traceId}`);
    console.log(`          Grafana: ${exemplar.grafanaUrl}`);
    console.log(`          Tempo:   ${exemplar.tempoUrl}`);
  }
  return 0;
}

async function doctor(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, DOCTOR_FLAGS);
  const { metric, minutes: windowMinutes } = flags;
  const lookups = { max: flags['max-lookups'], concurrency: flags.concurrency, timeoutMs: flags['lookup-timeout-ms'] };
  let grafana: GrafanaSource | undefined;
  if (flags['grafana-datasources'] !== undefined) grafana = { kind: 'file', path: flags['grafana-datasources'] };
  else if (flags['grafana-url'] !== undefined) grafana = { kind: 'api', url: flags['grafana-url'], token: flags['grafana-token'], timeoutMs: lookups.timeoutMs };
  const prometheus = new PrometheusApi(flags['prometheus-url']);
  const traceApi = flags['trace-api'];
  const traceStore = { api: traceApi, url: flags['trace-store-url'] } as const;
  const checks = await runDoctor({ ...flags, prometheus, traceStore, lookups, grafana });
  const failed = checks.filter((check) => check.verdict === 'fail');
  if (flags.json) {
    console.log(JSON.stringify({ ok: failed.length === 0, metric, windowMinutes, checks }));
  } else {
    console.log(`Exemplar doctor: ${metric}, last ${windowMinutes} minutes; Prometheus ${prometheus.url}, trace store ${traceStore.url} (${traceApi} API)\n`);
    for (const check of checks) {
      console.log(`${check.verdict.toUpperCase().padEnd(5)} ${check.check.padEnd(11)} ${check.summary}`);
      if (check.fix !== undefined) console.log(`${' '.repeat(18)}fix: ${check.fix}`);
      const details = check.details ?? [];
      for (const line of details.slice(0, 10)) console.log(`${' '.repeat(18)}${line}`);
      if (details.length > 10) console.log(`${' '.repeat(18)}... and ${details.length - 10} more (--json lists all)`);
    }
    console.log(`\n${failed.length === 0 ? 'All checks pass.' : `${failed.length} of ${checks.length} checks failed.`}`);
  }
  return failed.length === 0 ? 0 : EXIT.checkFailed;
}

async function main(): Promise<number> {
  const [first, ...rest] = process.argv.slice(2);
  try {
    return await (first === 'doctor' ? doctor(rest) : list(process.argv.slice(2)));
  } catch (error) {
    // One plain sentence and its own exit code for a peer that cannot be read.
    if (error instanceof Unreachable) {
      throw new Explained(`${error.message}. Is it up (make up), and is the URL right?`, error.peer === 'Prometheus' ? EXIT.prometheusUnreachable : EXIT.traceStoreUnreachable);
    }
    if (error instanceof PrometheusError) throw new Explained(`${error.message}.`, EXIT.prometheusUnreachable);
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) run(main, USAGE);
