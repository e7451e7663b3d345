// The one module that owns Prometheus: a private registry, the RED metrics and their exemplars, rendered in the
// format the /metrics route negotiated (OpenMetrics with exemplars, or the Prometheus text format).
//
// Exemplars come from the Prometheus client rather than from the OpenTelemetry metrics SDK, because the SDK does not
// export exemplars to Prometheus yet (open-telemetry/opentelemetry-js#5147). The exemplar labels are the trace and
// span IDs of the server span, read by the HTTP middleware and handed in here, so this module needs no tracing API.
import client, { type Counter, type Histogram, type Metric, type MetricObject, Registry } from '@prometheus-io/client';
import type { AcceptedSpans } from './accepted-spans.ts';

/** Seconds, as Prometheus recommends; the buckets bracket the demo's fast paths (20-100 ms) and its 0.8 s and 2 s spikes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The route label of every request that matched no route: one series however many paths are probed. */
export const UNMATCHED_ROUTE = 'unmatched';
/** The region label of a request whose baggage named a region outside the allow-list, or none. */
const OTHER_REGION = 'other';
const NO_REGION = 'none';

/** The exemplar label that Grafana's Prometheus datasource maps to Tempo (grafana/provisioning/datasources). */
export const EXEMPLAR_TRACE_ID_LABEL = 'trace_id';

export interface ExemplarLabels {
  readonly [EXEMPLAR_TRACE_ID_LABEL]: string;
  readonly span_id: string;
}

interface RequestRecord {
  readonly method: string;
  readonly route: string;
  readonly statusCode: number;
  readonly durationSeconds: number;
  /** The region the request's baggage named, if any: its label is itself only when allow-listed (METRIC_REGIONS). */
  readonly region?: string;
  /** Set when the request failed on the server side (5xx): a bounded name such as an exception class. */
  readonly errorType?: string;
  /** Omitted, never empty: the client's counters replace a stored exemplar with an explicitly passed empty one. */
  readonly exemplar?: ExemplarLabels;
}

type RequestLabels = 'method' | 'route' | 'status_code';

/** The two exposition formats, named by their media type; only OpenMetrics carries exemplars. */
export type ExpositionFormat = 'application/openmetrics-text' | 'text/plain';

/** One series of a gauge read at scrape time; no labels for a gauge without any. */
interface GaugeSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

interface MetricsRenderResult {
  readonly contentType: string;
  readonly body: string;
}

export class RequestMetrics {
  private readonly registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
  /** The same metrics in Prometheus text 0.0.4, for scrapers that do not prefer OpenMetrics (no exemplars there). */
  private readonly textRegistry = new Registry(Registry.PROMETHEUS_CONTENT_TYPE);
  private readonly regions: ReadonlySet<string>;
  private readonly duration: Histogram<RequestLabels>;
  private readonly requests: Counter<RequestLabels | 'region'>;
  private readonly errors: Counter<RequestLabels | 'error_type'>;

  /**
   * `acceptedSpans`: the no-dangling rule (accepted-spans.ts), the one place that decides which stored exemplars a
   * scrape shows; without it (tracing off) every exemplar is shown.
   */
  constructor(options: { readonly regions: readonly string[]; readonly processMetrics?: boolean; readonly acceptedSpans?: AcceptedSpans }) {
    this.regions = new Set(options.regions);
    // Registered below: through the rule's view for OpenMetrics, as they are for the text format (no exemplars there).
    const registers: Registry[] = [];
    this.duration = new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration of HTTP requests, by route template.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      enableExemplars: true,
      registers,
    });
    this.requests = new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by route template and allow-listed region.',
      labelNames: ['method', 'route', 'status_code', 'region'],
      enableExemplars: true,
      registers,
    });
    this.errors = new client.Counter({
      name: 'http_errors_total',
      help: 'HTTP requests that failed on the server side (5xx), by error type.',
      labelNames: ['method', 'route', 'status_code', 'error_type'],
      enableExemplars: true,
      registers,
    });
    const withExemplars: Metric<string>[] = [this.duration, this.requests, this.errors];
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry });
    const processMetrics = this.registry.getMetricsAsArray().map(({ name }) => this.registry.getSingleMetric<string>(name)!);
    for (const metric of withExemplars) this.registry.registerMetric(options.acceptedSpans?.scrapeView(metric) ?? metric);
    // The same metric objects in the text registry, counters through a view that keeps their text-format name.
    for (const metric of [...withExemplars, ...processMetrics]) {
      this.textRegistry.registerMetric(metric instanceof client.Counter ? withTotalName(metric, (metric as unknown as MetricObject).name) : metric);
    }
  }

  /**
   * A gauge read at scrape time, in both formats: `samples` gives its series as they are at that moment, so a state
   * that ends needs no timer, and a series that `samples` leaves out is absent from the scrape (it does not read 0).
   */
  gaugeReadAtScrape(name: string, help: string, labelNames: readonly string[], samples: () => readonly GaugeSample[]): void {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry, this.textRegistry],
      collect() {
        this.reset();
        for (const { labels = {}, value } of samples()) this.set(labels, value);
      },
    });
  }

  record(request: RequestRecord): void {
    const labels = { method: request.method, route: request.route, status_code: request.statusCode };
    const exemplarLabels = request.exemplar as Record<string, string> | undefined;
    // Passing `exemplarLabels: undefined` is the same as omitting it: the client then keeps the stored exemplar.
    this.duration.observe({ labels, value: request.durationSeconds, exemplarLabels });
    this.requests.inc({ labels: { ...labels, region: this.regionLabel(request.region) }, exemplarLabels });
    if (request.errorType !== undefined) {
      this.errors.inc({ labels: { ...labels, error_type: request.errorType }, exemplarLabels });
    }
  }

  /** OpenMetrics 1.0.0 with exemplars, or Prometheus text 0.0.4 (which has none). */
  async render(format: ExpositionFormat): Promise<MetricsRenderResult> {
    const registry = format === 'application/openmetrics-text' ? this.registry : this.textRegistry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** The label value for a baggage region: itself when allow-listed, so the series count stays bounded. */
  private regionLabel(region: string | undefined): string {
    if (region === undefined) return NO_REGION;
    return this.regions.has(region) ? region : OTHER_REGION;
  }
}

/**
 * The counter as the text registry must see it. Rendering OpenMetrics renames a counter in place (`x_total` becomes
 * the family `x`), so the view answers with the `_total` name that Prometheus text 0.0.4 expects. A Proxy has the
 * type of its target, so the registry takes the view as the Counter it stands for.
 */
function withTotalName<Label extends string>(counter: Counter<Label>, name: string): Counter<Label> {
  const textName = `${name.replace(/_total$/, '')}_total`;
  const get = async () => ({ ...(await counter.get()), name: textName });
  return new Proxy(counter, { get: (target, key) => (key === 'name' ? textName : key === 'get' ? get : Reflect.get(target, key)) });
}
