// Lists the slowest exemplars Prometheus holds for the service's latency histogram: the traces worth opening.
// Run with --help for the flags.
import { grafanaTraceUrl, tempoTraceUrl } from '../src/telemetry/trace-links.ts';
import { milliseconds, numberFlag, parseFlags, run } from './cli.ts';

const USAGE = `usage: npm run exemplars -- [flags]
  --prometheus-url URL  Prometheus (default http://localhost:9090)
  --minutes N           how far back to look, 1-1440 (default 15)
  --route R             only this route template, e.g. /api/orders
  --limit N             how many to list, 1-1000 (default 10)
  --grafana-url URL     for the links (default http://localhost:3000)
  --tempo-url URL       for the links (default http://localhost:3200)
  --json                print JSON for scripts`;

export interface ListedExemplar {
  route: string;
  seconds: number;
  time: string;
  traceId: string;
  spanId: string;
  grafanaUrl: string;
  tempoUrl: string;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

/** A failure this command explains to the user, with its exit code. */
class Explained extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

async function api<T>(prometheusUrl: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${prometheusUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Explained(`Prometheus is unreachable at ${prometheusUrl}: ${(error as Error).cause ?? (error as Error).message}. Is the stack up (make up)?`, 3);
  }
  const body = (await response.json().catch(() => undefined)) as ApiAnswer<T> | undefined;
  if (body?.status !== 'success') throw new Explained(`Prometheus answered ${response.status} to ${path}: ${body?.error ?? 'not its API'}`, 3);
  return body.data;
}

export async function listExemplars(options: {
  prometheusUrl: string;
  minutes: number;
  route: string | undefined;
  limit: number;
  grafanaUrl: string;
  tempoUrl: string;
}): Promise<ListedExemplar[]> {
  const flags = await api<Record<string, string>>(options.prometheusUrl, '/api/v1/status/flags');
  if (!(flags['enable-feature'] ?? '').split(',').includes('exemplar-storage')) {
    throw new Explained(
      `exemplar storage is off in Prometheus at ${options.prometheusUrl}: start it with --enable-feature=exemplar-storage (docker-compose.yml does).`,
      4,
    );
  }
  const end = Date.now() / 1000;
  const selector = options.route === undefined ? '' : `route=${JSON.stringify(options.route)}`;
  const query = encodeURIComponent(`http_request_duration_seconds_bucket{${selector}}`);
  const series = await api<{ seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[]>(
    options.prometheusUrl,
    `/api/v1/query_exemplars?query=${query}&start=${end - options.minutes * 60}&end=${end}`,
  );
  const byTrace = new Map<string, ListedExemplar>();
  for (const entry of series) {
    for (const exemplar of entry.exemplars) {
      const traceId = exemplar.labels.trace_id ?? exemplar.labels.traceID;
      if (traceId === undefined || byTrace.has(traceId)) continue;
      byTrace.set(traceId, {
        route: entry.seriesLabels.route ?? '',
        seconds: Number(exemplar.value),
        time: new Date(exemplar.timestamp * 1000).toISOString(),
        traceId,
        spanId: exemplar.labels.span_id ?? '',
        grafanaUrl: grafanaTraceUrl(options.grafanaUrl, traceId),
        tempoUrl: tempoTraceUrl(options.tempoUrl, traceId),
      });
    }
  }
  return [...byTrace.values()].sort((a, b) => b.seconds - a.seconds).slice(0, options.limit);
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), {
    'prometheus-url': { type: 'string' },
    minutes: { type: 'string' },
    route: { type: 'string' },
    limit: { type: 'string' },
    'grafana-url': { type: 'string' },
    'tempo-url': { type: 'string' },
    json: { type: 'boolean' },
  });
  const options = {
    prometheusUrl: (flags['prometheus-url'] ?? 'http://localhost:9090').replace(/\/$/, ''),
    minutes: numberFlag('minutes', flags.minutes, 15, 1, 1440),
    route: flags.route,
    limit: numberFlag('limit', flags.limit, 10, 1, 1000),
    grafanaUrl: flags['grafana-url'] ?? 'http://localhost:3000',
    tempoUrl: flags['tempo-url'] ?? 'http://localhost:3200',
  };
  let exemplars: ListedExemplar[];
  try {
    exemplars = await listExemplars(options);
  } catch (error) {
    if (!(error instanceof Explained)) throw error;
    console.error(error.message);
    return error.exitCode;
  }
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

if (import.meta.url === `file://${process.argv[1]}`) run(main, USAGE);
