// Exemplars in Prometheus, for people: `npm run exemplars` lists the slowest (the traces worth opening);
// `npm run exemplars -- doctor` checks that every exemplar dot opens its trace (scripts/doctor.ts).
// Run with --help for the flags.
import { grafanaTraceUrl, tempoTraceUrl } from '../src/telemetry/trace-links.ts';
import { Explained, milliseconds, numberFlag, parseFlags, run, UsageError } from './cli.ts';
import { DEFAULT_LOOKUPS, EXIT, type GrafanaSource, runDoctor, storedExemplars } from './doctor.ts';
import { PrometheusApi, PrometheusError, Unreachable } from './prometheus-api.ts';

const USAGE = `usage: npm run exemplars -- [flags]          the slowest exemplars, with links
  --prometheus-url URL  Prometheus (default http://localhost:9090)
  --minutes N           how far back to look, 1-1440 (default 15)
  --route R             only this route template, e.g. /api/orders
  --limit N             how many to list, 1-1000 (default 10)
  --grafana-url URL     for the links (default http://localhost:3000)
  --tempo-url URL       for the links (default http://localhost:3200)
  --json                print JSON for scripts

usage: npm run exemplars -- doctor [flags]   does every exemplar dot open its trace? (only reads)
  --prometheus-url URL      Prometheus (default http://localhost:9090)
  --trace-store-url URL     Tempo's HTTP API, or Jaeger's query service (default http://localhost:3200)
  --trace-api tempo|jaeger  tempo: GET /api/v2/traces/<id>; jaeger: GET /api/traces/<id> (default tempo)
  --metric NAME             a latency histogram, without _bucket (default http_request_duration_seconds)
  --minutes N               how far back to look, 1-1440 (default 15)
  --slow-seconds S          requests above the bucket bound at or below S are slow (default 0.5)
  --pending-seconds S       exemplars younger than this wait for tail sampling: pending (default 30)
  --max-lookups N           traces looked up at most, an even sample beyond, 1-10000 (default ${DEFAULT_LOOKUPS.max})
  --concurrency N           lookups in flight, 1-16 (default ${DEFAULT_LOOKUPS.concurrency})
  --lookup-timeout-ms N     per lookup, 100-60000 (default ${DEFAULT_LOOKUPS.timeoutMs})
  --grafana-url URL         check the exemplar links in Grafana's Prometheus datasource (its API)
  --grafana-token T         a service account token for that API (default $GRAFANA_TOKEN)
  --grafana-datasources F   or check them in a provisioning file instead
  --datasource-uid UID      the Prometheus datasource (default: the default one, else the first)
  --json                    print JSON for scripts
exit codes: 0 all checks pass, 1 a check failed, 2 bad flag, 3 Prometheus unreachable, 5 trace store unreachable,
  6 Grafana unreachable, 7 Grafana refused the token, 8 no such metric, 9 malformed URL`;

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

export async function listExemplars(options: {
  prometheusUrl: string;
  minutes: number;
  route: string | undefined;
  limit: number;
  grafanaUrl: string;
  tempoUrl: string;
}): Promise<ListedExemplar[]> {
  const prometheus = new PrometheusApi(options.prometheusUrl);
  const flags = await prometheus.flags();
  if (!(flags['enable-feature'] ?? '').split(',').includes('exemplar-storage')) {
    throw new Explained(
      `exemplar storage is off in Prometheus at ${options.prometheusUrl}: start it with --enable-feature=exemplar-storage (docker-compose.yml does).`,
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
      grafanaUrl: grafanaTraceUrl(options.grafanaUrl, traceId),
      tempoUrl: tempoTraceUrl(options.tempoUrl, traceId),
    });
  }
  return [...byTrace.values()].sort((a, b) => b.seconds - a.seconds).slice(0, options.limit);
}

async function list(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    'prometheus-url': { type: 'string' },
    minutes: { type: 'string' },
    route: { type: 'string' },
    limit: { type: 'string' },
    'grafana-url': { type: 'string' },
    'tempo-url': { type: 'string' },
    json: { type: 'boolean' },
  });
  const options = {
    prometheusUrl: urlFlag('prometheus-url', flags['prometheus-url'], 'http://localhost:9090'),
    minutes: numberFlag('minutes', flags.minutes, 15, 1, 1440),
    route: flags.route,
    limit: numberFlag('limit', flags.limit, 10, 1, 1000),
    grafanaUrl: urlFlag('grafana-url', flags['grafana-url'], 'http://localhost:3000'),
    tempoUrl: urlFlag('tempo-url', flags['tempo-url'], 'http://localhost:3200'),
  };
  const exemplars = await listExemplars(options);
  if (flags.json) {
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


/** A URL flag: http(s) only, trailing slash dropped; anything else exits 9 with one sentence. */
function urlFlag(name: string, value: string | undefined, fallback: string): string {
  const url = value ?? fallback;
  if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol)) {
    throw new Explained(`--${name} is not a valid http(s) URL: "${url}".`, EXIT.malformedUrl);
  }
  return url.replace(/\/$/, '');
}

async function doctor(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    'prometheus-url': { type: 'string' },
    'trace-store-url': { type: 'string' },
    'trace-api': { type: 'string' },
    metric: { type: 'string' },
    minutes: { type: 'string' },
    'slow-seconds': { type: 'string' },
    'pending-seconds': { type: 'string' },
    'max-lookups': { type: 'string' },
    concurrency: { type: 'string' },
    'lookup-timeout-ms': { type: 'string' },
    'grafana-url': { type: 'string' },
    'grafana-token': { type: 'string' },
    'grafana-datasources': { type: 'string' },
    'datasource-uid': { type: 'string' },
    json: { type: 'boolean' },
  });
  const traceApi = flags['trace-api'] ?? 'tempo';
  if (traceApi !== 'tempo' && traceApi !== 'jaeger') throw new UsageError(`--trace-api must be tempo or jaeger, got "${traceApi}"`);
  const metric = flags.metric ?? 'http_request_duration_seconds';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) throw new UsageError(`--metric must be a metric name, got "${metric}"`);
  const lookups = {
    max: numberFlag('max-lookups', flags['max-lookups'], DEFAULT_LOOKUPS.max, 1, 10_000),
    concurrency: numberFlag('concurrency', flags.concurrency, DEFAULT_LOOKUPS.concurrency, 1, 16),
    timeoutMs: numberFlag('lookup-timeout-ms', flags['lookup-timeout-ms'], DEFAULT_LOOKUPS.timeoutMs, 100, 60_000),
  };
  let grafana: GrafanaSource | undefined;
  if (flags['grafana-datasources'] !== undefined) grafana = { kind: 'file', path: flags['grafana-datasources'] };
  else if (flags['grafana-url'] !== undefined) {
    const token = flags['grafana-token'] ?? process.env.GRAFANA_TOKEN;
    grafana = { kind: 'api', url: urlFlag('grafana-url', flags['grafana-url'], ''), token: token === '' ? undefined : token, timeoutMs: lookups.timeoutMs };
  }
  const prometheus = new PrometheusApi(urlFlag('prometheus-url', flags['prometheus-url'], 'http://localhost:9090'));
  const traceStore = { api: traceApi, url: urlFlag('trace-store-url', flags['trace-store-url'], 'http://localhost:3200') } as const;
  const windowMinutes = numberFlag('minutes', flags.minutes, 15, 1, 1440);
  const checks = await runDoctor({
    prometheus,
    metric,
    windowMinutes,
    traceStore,
    slowSeconds: numberFlag('slow-seconds', flags['slow-seconds'], 0.5, 0.001, 3600),
    pendingSeconds: numberFlag('pending-seconds', flags['pending-seconds'], 30, 0, 3600),
    lookups,
    grafana,
    datasourceUid: flags['datasource-uid'],
  });
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
