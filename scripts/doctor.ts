// The exemplar doctor: the checks behind "every exemplar dot opens its trace", for any Prometheus and trace store
// (`npm run exemplars -- doctor`). The e2e harness runs the same functions against the real programs.
// Everything here only reads, and every lookup is bounded: users point it at production.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Explained, type FlagValues } from './cli.ts';
import type { DOCTOR_FLAGS } from './exemplars.ts';
import { type PrometheusApi, request, Unreachable } from './prometheus-api.ts';

/** Exit codes, one per cause a user must act on differently (2 is a bad flag, from cli.ts). */
export const EXIT = {
  checkFailed: 1,
  prometheusUnreachable: 3,
  traceStoreUnreachable: 5,
  grafanaUnreachable: 6,
  tokenRefused: 7,
  metricMissing: 8,
  malformedUrl: 9,
} as const;

type Verdict = 'pass' | 'fail' | 'skip';
export interface CheckResult {
  readonly check: 'storage' | 'format' | 'resolution' | 'coverage' | 'links';
  readonly verdict: Verdict;
  /** One plain sentence. */
  readonly summary: string;
  /** One suggested fix, on failure. */
  readonly fix?: string;
  /** Lines worth showing under the summary (dangling traces, uncovered intervals, ...). */
  readonly details?: readonly string[];
}

export interface StoredExemplar {
  readonly series: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** The value of the exemplar's trace ID label (trace_id, traceID, ...); undefined when it has none. */
  readonly traceId: string | undefined;
  readonly value: number;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

/** Exemplar label names that hold a trace ID: `trace_id` (ours, OpenTelemetry's), `traceID` (Tempo's span metrics), ... */
const isTraceLabel = (name: string): boolean => /^trace_?id$/i.test(name);

/** Every exemplar Prometheus holds for `selector` in the last `sinceSeconds`. */
export async function storedExemplars(prometheus: PrometheusApi, selector: string, sinceSeconds: number): Promise<StoredExemplar[]> {
  const series = await prometheus.queryExemplars(selector, sinceSeconds);
  return series.flatMap((entry) =>
    entry.exemplars.map((exemplar) => ({
      series: entry.seriesLabels,
      labels: exemplar.labels,
      traceId: Object.entries(exemplar.labels).find(([name]) => isTraceLabel(name))?.[1],
      value: Number(exemplar.value),
      timestamp: exemplar.timestamp,
    })),
  );
}

/** The labels that name a series of the histogram, bucket bound and metric name left out. */
const seriesKey = (labels: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(labels).filter(([name]) => name !== 'le' && name !== '__name__').sort(([a], [b]) => a.localeCompare(b)));
const describeSeries = (key: string): string => (JSON.parse(key) as [string, string][]).map(([name, value]) => `${name}="${value}"`).join(', ');

// ---------------------------------------------------------------------------------------------- 1. storage

/** Fails the run (exit 8) when Prometheus has no series of the histogram in the window. */
async function assertMetricExists(prometheus: PrometheusApi, metric: string, windowMinutes: number): Promise<void> {
  const series = await prometheus.query(`count(last_over_time(${metric}_bucket[${windowMinutes}m]))`);
  if (series.length === 0) {
    throw new Explained(
      `Prometheus at ${prometheus.url} has no series named ${metric}_bucket in the last ${windowMinutes} minutes: check --metric (the name of a histogram, without _bucket) and --minutes.`,
      EXIT.metricMissing,
    );
  }
}

/** Whether Prometheus runs with --enable-feature=exemplar-storage (without it, it keeps no exemplars). */
export async function exemplarStorageOn(prometheus: PrometheusApi): Promise<boolean> {
  return ((await prometheus.flags())['enable-feature'] ?? '').split(',').includes('exemplar-storage');
}

export async function checkStorage(prometheus: PrometheusApi, metric: string, exemplars: readonly StoredExemplar[], windowMinutes: number): Promise<CheckResult> {
  if (!(await exemplarStorageOn(prometheus))) {
    return {
      check: 'storage',
      verdict: 'fail',
      summary: `Exemplar storage is off in Prometheus at ${prometheus.url}, so it keeps no exemplars at all.`,
      fix: 'Start Prometheus with --enable-feature=exemplar-storage (docker-compose.yml does).',
    };
  }
  const perSeries = new Map<string, number>();
  for (const exemplar of exemplars) perSeries.set(seriesKey(exemplar.series), (perSeries.get(seriesKey(exemplar.series)) ?? 0) + 1);
  if (exemplars.length === 0) {
    return {
      check: 'storage',
      verdict: 'fail',
      summary: `Exemplar storage is on, but Prometheus holds no exemplars of ${metric} from the last ${windowMinutes} minutes.`,
      fix: 'See the Format check: a target scraped as Prometheus text carries none. Otherwise the service attaches none (no traffic, or no sampled span).',
    };
  }
  return {
    check: 'storage',
    verdict: 'pass',
    summary: `Exemplar storage is on; ${exemplars.length} exemplars of ${metric} on ${perSeries.size} series in the last ${windowMinutes} minutes.`,
    details: [...perSeries].sort(([, a], [, b]) => b - a).map(([key, count]) => `${String(count).padStart(6)}  ${describeSeries(key)}`),
  };
}

// ---------------------------------------------------------------------------------------------- 2. format

/** Prometheus's Accept header for each scrape protocol (config/config.go, ScrapeProtocolsHeaders). */
const PROTOCOL_MEDIA_TYPES: Record<string, string> = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
  'OpenMetricsText2.0.0': 'application/openmetrics-text;version=2.0.0',
};
/** Prometheus 3's default order (config.DefaultScrapeProtocols). */
const DEFAULT_PROTOCOLS = ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'];

/** The Accept header Prometheus sends for these protocols: falling weights, then anything (scrape.acceptHeader). */
function acceptHeader(protocols: readonly string[]): string {
  const weight = Object.keys(PROTOCOL_MEDIA_TYPES).length + 1;
  return [...protocols.map((protocol, i) => `${PROTOCOL_MEDIA_TYPES[protocol]};q=0.${weight - i}`), `*/*;q=0.${weight - protocols.length}`].join(',');
}

/** Which exposition format a media type is; only the text format cannot carry exemplars. */
const formatOf = (mediaType: string): 'OpenMetrics' | 'protobuf' | 'Prometheus text' =>
  mediaType.startsWith('application/openmetrics-text') ? 'OpenMetrics' : mediaType.startsWith('application/vnd.google.protobuf') ? 'protobuf' : 'Prometheus text';

export async function checkFormat(prometheus: PrometheusApi, metric: string, windowMinutes: number, timeoutMs: number): Promise<CheckResult> {
  const exposing = await prometheus.query(`count by (job, instance) (last_over_time(${metric}_bucket[${windowMinutes}m]))`);
  const config = parse(await prometheus.config()) as { scrape_configs?: { job_name: string; scrape_protocols?: string[] }[]; scrape_config_files?: string[] };
  const targets = (await prometheus.targets()).filter((target) => exposing.some((e) => e.metric.job === target.labels.job && e.metric.instance === target.labels.instance));
  if (targets.length === 0) {
    return { check: 'format', verdict: 'skip', summary: `No scrape target of Prometheus exposes ${metric} now (remote-written, or the target is gone).` };
  }
  const findings = await Promise.all(
    targets.map(async (target) => {
      const job = config.scrape_configs?.find((candidate) => candidate.job_name === target.scrapePool);
      const protocols = job?.scrape_protocols ?? DEFAULT_PROTOCOLS;
      // /api/v1/status/config does not expand scrape_config_files: a job from one of them shows no scrape_protocols.
      const assumed = job === undefined && (config.scrape_config_files ?? []).length > 0 ? ' (job from scrape_config_files, which the config API does not show: Prometheus\'s default order assumed)' : '';
      const name = `${target.labels.job} ${target.labels.instance}`;
      try {
        // Asked as Prometheus asks, the target's answer is the format Prometheus gets.
        const response = await request('the target', target.scrapeUrl, timeoutMs, { accept: acceptHeader(protocols) });
        const body = await response.text();
        const format = formatOf(response.headers.get('content-type') ?? '');
        const withExemplars = body.split('\n').some((line) => line.startsWith(`${metric}_bucket`) && line.includes(' # {'));
        return { name, protocols, assumed, format, note: `answered ${format}${format === 'OpenMetrics' ? (withExemplars ? ' with exemplars' : ' without any exemplar on the histogram') : ''}` };
      } catch (error) {
        // Not reachable from here (another network): the configuration still says what Prometheus asks first.
        const format = formatOf(PROTOCOL_MEDIA_TYPES[protocols[0]!] ?? '');
        return { name, protocols, assumed, format, note: `not asked (${(error as Error).message}); Prometheus asks for ${format} first` };
      }
    }),
  );
  const details = findings.map((f) => `${f.name}: scrape_protocols [${f.protocols.join(', ')}]${f.assumed}; ${f.note}`);
  const text = findings.filter((f) => f.format === 'Prometheus text');
  if (text.length > 0) {
    return {
      check: 'format',
      verdict: 'fail',
      summary: `${text.map((f) => f.name).join(', ')} ${text.length === 1 ? 'is' : 'are'} scraped in the Prometheus text format, which carries no exemplars: the cause of "no exemplars".`,
      fix: `Put OpenMetricsText1.0.0 first in scrape_protocols of job ${text[0]!.name.split(' ')[0]}, and have the target answer application/openmetrics-text when asked for it.`,
      details,
    };
  }
  return { check: 'format', verdict: 'pass', summary: `${findings.length} target${findings.length === 1 ? '' : 's'} exposing ${metric}, scraped in a format that carries exemplars.`, details };
}

// ---------------------------------------------------------------------------------------------- 3. resolution

export interface TraceStore {
  /** `tempo`: GET /api/v2/traces/<id> (Tempo 2.x and 3.x); `jaeger`: GET /api/traces/<id> (Jaeger; also Tempo's v1 path). */
  readonly api: 'tempo' | 'jaeger';
  readonly url: string;
}

interface LookupBounds {
  /** Traces looked up at most per run; beyond it an even sample over time. */
  readonly max: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
}
export const DEFAULT_LOOKUPS: LookupBounds = { max: 200, concurrency: 4, timeoutMs: 5000 };

type Lookup = 'found' | 'missing' | 'unanswered';

/**
 * Tempo v3.0.3 (modules/querier/http.go, modules/frontend/combiner): /api/traces/<id> answers 404 for an unknown
 * trace; /api/v2/traces/<id> answers 200 with an empty `trace` (or 404 from the frontend), so the body decides.
 * Both answer 400 to a malformed ID. Jaeger's /api/traces/<id> answers 404 for an unknown trace.
 */
export async function lookUpTrace(store: TraceStore, traceId: string, timeoutMs: number): Promise<Lookup> {
  const path = store.api === 'tempo' ? `/api/v2/traces/${traceId}` : `/api/traces/${traceId}`;
  let response: Response;
  try {
    response = await fetch(`${store.url}${path}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'unanswered';
    throw new Unreachable('The trace store', store.url, error);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new Explained(`The trace store at ${store.url} refused the lookup (${response.status}): this command sends no credentials; reach it from where no login is needed.`, EXIT.traceStoreUnreachable);
  }
  if (response.status === 404 || response.status === 400) {
    await response.body?.cancel();
    return 'missing';
  }
  if (!response.ok) {
    await response.body?.cancel();
    return 'unanswered';
  }
  if (store.api === 'jaeger') {
    await response.body?.cancel();
    return 'found';
  }
  const body = (await response.json().catch(() => ({}))) as { trace?: { resourceSpans?: unknown[]; batches?: unknown[] } };
  return (body.trace?.resourceSpans?.length ?? body.trace?.batches?.length ?? 0) > 0 ? 'found' : 'missing';
}

/** `fn` over `items`, at most `concurrency` at a time, results in order. */
async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export interface Resolution {
  readonly traces: number;
  readonly pending: number;
  readonly checked: number;
  readonly resolved: number;
  readonly unanswered: number;
  /** `timestamp`: when the exemplar was made (its first one for this trace), seconds since the epoch. */
  readonly dangling: readonly { traceId: string; ageSeconds: number; timestamp: number }[];
  readonly result: CheckResult;
}

/**
 * Looks up the trace of every exemplar (one lookup per trace) older than `pendingSeconds`: a younger one's trace
 * may still wait for the tail-sampling decision, so it is "pending", not dangling.
 */
export async function checkResolution(
  exemplars: readonly StoredExemplar[],
  store: TraceStore,
  options: { pendingSeconds: number; bounds: LookupBounds; now?: number },
): Promise<Resolution> {
  const now = options.now ?? Date.now() / 1000;
  const firstSeen = new Map<string, number>();
  for (const { traceId, timestamp } of exemplars) {
    if (traceId !== undefined) firstSeen.set(traceId, Math.min(timestamp, firstSeen.get(traceId) ?? timestamp));
  }
  const old = [...firstSeen].filter(([, timestamp]) => now - timestamp >= options.pendingSeconds).sort(([, a], [, b]) => a - b);
  const pending = firstSeen.size - old.length;
  const step = Math.max(1, old.length / options.bounds.max);
  const sample = Array.from({ length: Math.min(old.length, options.bounds.max) }, (_, i) => old[Math.floor(i * step)]!);
  const lookups = await mapBounded(sample, options.bounds.concurrency, ([traceId]) => lookUpTrace(store, traceId, options.bounds.timeoutMs));
  const dangling = sample.filter((_, i) => lookups[i] === 'missing').map(([traceId, timestamp]) => ({ traceId, ageSeconds: Math.round(now - timestamp), timestamp }));
  const resolved = lookups.filter((lookup) => lookup === 'found').length;
  const unanswered = lookups.filter((lookup) => lookup === 'unanswered').length;
  const checked = sample.length;
  const percent = checked === 0 ? 100 : (100 * resolved) / checked;
  const notes = [
    pending > 0 ? `${pending} pending (younger than ${options.pendingSeconds} s, the tail-sampling decision wait)` : '',
    checked < old.length ? `sampled ${checked} of ${old.length} (--max-lookups)` : '',
    unanswered > 0 ? `${unanswered} lookups unanswered within ${options.bounds.timeoutMs} ms` : '',
  ].filter(Boolean);
  const summary = `${resolved} of ${checked} resolve (${percent.toFixed(1)}%) in the trace store at ${store.url}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}.`;
  let result: CheckResult;
  if (firstSeen.size === 0) result = { check: 'resolution', verdict: 'skip', summary: 'No exemplar with a trace ID label to look up.' };
  else if (dangling.length > 0) {
    result = {
      check: 'resolution',
      verdict: 'fail',
      summary: `${summary} ${dangling.length} dangling: dots that open "trace not found".`,
      fix: 'Keep every trace an exemplar points at: a tail-sampling policy that ignores exemplars drops them (add a boolean_attribute policy on exemplar=true, as otel-collector/config.yaml does); head sampling must not drop traces the metrics still mark.',
      details: dangling.map(({ traceId, ageSeconds }) => `${traceId}  ${ageSeconds} s old`),
    };
  } else if (unanswered > 0) {
    result = { check: 'resolution', verdict: 'fail', summary, fix: 'The trace store is slow or failing: look again later, or raise --lookup-timeout-ms.' };
  } else result = { check: 'resolution', verdict: 'pass', summary };
  return { traces: firstSeen.size, pending, checked, resolved, unanswered, dangling, result };
}

// ---------------------------------------------------------------------------------------------- 4. coverage

/**
 * From Prometheus's raw samples: of the scrape intervals in which a series counted a request slower than
 * `slowSeconds` (its count above that bucket bound grew), the share that also hold a slow exemplar of that series.
 */
export async function checkCoverage(
  prometheus: PrometheusApi,
  metric: string,
  exemplars: readonly StoredExemplar[],
  options: { slowSeconds: number; windowMinutes: number },
): Promise<CheckResult & { windows: number; covered: number }> {
  const window = `${options.windowMinutes}m`;
  const bounds = (await prometheus.query(`count by (le) (last_over_time(${metric}_bucket[${window}]))`)).map((s) => s.metric.le!).filter((le) => le !== '+Inf');
  const bound = bounds.filter((le) => Number(le) <= options.slowSeconds).sort((a, b) => Number(b) - Number(a))[0];
  if (bound === undefined) {
    return { check: 'coverage', verdict: 'skip', summary: `${metric} has no bucket bound at or below ${options.slowSeconds} s to count slow requests by.`, windows: 0, covered: 0 };
  }
  const counts = new Map<string, Map<number, { fast?: number; all?: number }>>();
  for (const le of [bound, '+Inf']) {
    for (const { metric: labels, values } of await prometheus.rawSamples(`${metric}_bucket{le="${le}"}[${window}]`)) {
      const points = counts.get(seriesKey(labels)) ?? new Map<number, { fast?: number; all?: number }>();
      counts.set(seriesKey(labels), points);
      for (const [timestamp, value] of values) {
        const point = points.get(timestamp) ?? {};
        if (le === '+Inf') point.all = Number(value);
        else point.fast = Number(value);
        points.set(timestamp, point);
      }
    }
  }
  let windows = 0;
  const uncovered: string[] = [];
  for (const [key, points] of counts) {
    const ordered = [...points].filter(([, p]) => p.all !== undefined && p.fast !== undefined).sort(([a], [b]) => a - b);
    for (let i = 1; i < ordered.length; i += 1) {
      const [from, before] = ordered[i - 1]!;
      const [to, after] = ordered[i]!;
      if (after.all! - after.fast! <= before.all! - before.fast!) continue; // no slow request, or a counter reset
      windows += 1;
      // An observation made while a scrape renders lands just after the scrape's timestamp: 1 s of slack.
      const covered = exemplars.some((e) => seriesKey(e.series) === key && e.value > Number(bound) && e.timestamp > from && e.timestamp <= to + 1);
      if (!covered) uncovered.push(`${describeSeries(key)} between ${new Date(from * 1000).toISOString()} and ${new Date(to * 1000).toISOString()}`);
    }
  }
  const covered = windows - uncovered.length;
  const summary = `${covered} of ${windows} scrape intervals with requests slower than ${bound} s hold a slow exemplar${windows === 0 ? '' : ` (${((100 * covered) / windows).toFixed(1)}%)`}.`;
  if (windows === 0) return { check: 'coverage', verdict: 'skip', summary: `No request slower than ${bound} s in the last ${options.windowMinutes} minutes.`, windows, covered };
  if (uncovered.length > 0) {
    return {
      check: 'coverage',
      verdict: 'fail',
      summary,
      fix: 'Attach an exemplar to every slow observation (EXEMPLAR_POLICY=adaptive or threshold with EXEMPLAR_THRESHOLD_MS at the slow bound), not to a random share.',
      details: uncovered,
      windows,
      covered,
    };
  }
  return { check: 'coverage', verdict: 'pass', summary, windows, covered };
}

// ---------------------------------------------------------------------------------------------- 5. links

interface Datasource {
  readonly uid?: string;
  readonly name?: string;
  readonly type?: string;
  readonly isDefault?: boolean;
  readonly jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid?: string; url?: string }[] };
}

/** Where Grafana's datasources are read from: its API (with a service account token when needed) or a provisioning file. */
export type GrafanaSource =
  | { readonly kind: 'api'; readonly url: string; readonly token: string | undefined; readonly timeoutMs: number }
  | { readonly kind: 'file'; readonly path: string };

async function grafanaDatasources(source: GrafanaSource): Promise<{ where: string; datasources: Datasource[] }> {
  if (source.kind === 'file') {
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      throw new Explained(`Cannot read the Grafana datasource file ${source.path}: ${(error as Error).message}.`, EXIT.grafanaUnreachable);
    }
    return { where: source.path, datasources: (parse(text) as { datasources?: Datasource[] } | null)?.datasources ?? [] };
  }
  let response: Response;
  try {
    response = await request('Grafana', `${source.url}/api/datasources`, source.timeoutMs, source.token === undefined ? {} : { authorization: `Bearer ${source.token}` });
  } catch (error) {
    throw new Explained(`${(error as Error).message}.`, EXIT.grafanaUnreachable);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new Explained(
      `Grafana at ${source.url} refused ${source.token === undefined ? 'the request without a token' : 'the token'} (${response.status}): give a service account token with the datasources:read permission (--grafana-token or GRAFANA_TOKEN).`,
      EXIT.tokenRefused,
    );
  }
  const datasources = (await response.json().catch(() => undefined)) as Datasource[] | undefined;
  if (!response.ok || !Array.isArray(datasources)) throw new Explained(`Grafana at ${source.url} answered ${response.status} to /api/datasources, not a datasource list.`, EXIT.grafanaUnreachable);
  return { where: source.url, datasources };
}

/** The exemplar label names actually stored against the Prometheus datasource's exemplarTraceIdDestinations. */
export async function checkLinks(exemplars: readonly StoredExemplar[], source: GrafanaSource | undefined, datasourceUid: string | undefined): Promise<CheckResult> {
  if (source === undefined) return { check: 'links', verdict: 'skip', summary: 'No Grafana given (--grafana-url or --grafana-datasources).' };
  const stored = [...new Set(exemplars.flatMap((e) => Object.keys(e.labels).filter(isTraceLabel)))].sort();
  const { where, datasources } = await grafanaDatasources(source);
  const candidates = datasources.filter((d) => (datasourceUid === undefined ? d.type === 'prometheus' : d.uid === datasourceUid));
  const datasource = candidates.find((d) => d.isDefault) ?? candidates[0];
  if (datasource === undefined) {
    return {
      check: 'links',
      verdict: 'fail',
      summary: `${where} has no ${datasourceUid === undefined ? 'Prometheus datasource' : `datasource with uid ${datasourceUid}`}.`,
      fix: 'Name the Prometheus datasource with --datasource-uid.',
    };
  }
  const destinations = datasource.jsonData?.exemplarTraceIdDestinations ?? [];
  const mapped = destinations.map((d) => d.name);
  const unmapped = stored.filter((name) => !mapped.includes(name));
  const missingTargets = destinations.filter((d) => d.url === undefined && !datasources.some((other) => other.uid === d.datasourceUid));
  const label = `datasource "${datasource.name ?? datasource.uid}" in ${where}`;
  if (unmapped.length > 0) {
    return {
      check: 'links',
      verdict: 'fail',
      summary: `Exemplars carry ${unmapped.join(', ')}, which ${label} does not map (it maps ${mapped.length === 0 ? 'nothing' : mapped.join(', ')}): dots but no link.`,
      fix: `Add ${unmapped.map((name) => `{name: ${name}, datasourceUid: <your Tempo uid>}`).join(' and ')} to jsonData.exemplarTraceIdDestinations.`,
    };
  }
  if (missingTargets.length > 0) {
    return {
      check: 'links',
      verdict: 'fail',
      summary: `${label} links ${missingTargets.map((d) => `${d.name} to datasource uid "${d.datasourceUid}"`).join(', ')}, which does not exist: the link leads nowhere.`,
      fix: 'Set datasourceUid to the uid of your Tempo datasource.',
    };
  }
  return {
    check: 'links',
    verdict: stored.length === 0 ? 'skip' : 'pass',
    summary: stored.length === 0 ? 'No stored exemplar carries a trace ID label.' : `${label} links ${stored.join(', ')} to ${destinations.filter((d) => stored.includes(d.name)).map((d) => d.datasourceUid ?? d.url).join(', ')}.`,
  };
}

// ---------------------------------------------------------------------------------------------- the whole run

/** The doctor's flags as given, plus what is made of them: the clients and the lookup bounds. */
type DoctorOptions = FlagValues<typeof DOCTOR_FLAGS> & {
  readonly prometheus: PrometheusApi;
  readonly traceStore: TraceStore;
  readonly lookups: LookupBounds;
  readonly grafana: GrafanaSource | undefined;
};

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { prometheus, metric, minutes: windowMinutes } = options;
  await assertMetricExists(prometheus, metric, windowMinutes);
  const exemplars = await storedExemplars(prometheus, `{__name__="${metric}_bucket"}`, windowMinutes * 60);
  return [
    await checkStorage(prometheus, metric, exemplars, windowMinutes),
    await checkFormat(prometheus, metric, windowMinutes, options.lookups.timeoutMs),
    (await checkResolution(exemplars, options.traceStore, { pendingSeconds: options['pending-seconds'], bounds: options.lookups })).result,
    await checkCoverage(prometheus, metric, exemplars, { slowSeconds: options['slow-seconds'], windowMinutes }),
    await checkLinks(exemplars, options.grafana, options['datasource-uid']),
  ];
}
