// The one client of Prometheus's HTTP API: the exemplars command and its doctor, the tests and the e2e harness all
// read Prometheus through it. It only reads, and every request has a timeout.

/** A peer (Prometheus, the trace store, Grafana) that did not answer at all: refused, unknown host, timed out. */
export class Unreachable extends Error {
  override name = 'Unreachable';
  readonly peer: string;
  constructor(peer: string, url: string, error: unknown) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    super(`${peer} is unreachable at ${url} (${reason})`);
    this.peer = peer;
  }
}

/** Prometheus answered, but with an error (its own message) or with something that is not its API. */
export class PrometheusError extends Error {
  override name = 'PrometheusError';
}

/** GET `url` with a timeout; a network failure becomes Unreachable naming the peer. */
export async function request(peer: string, url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Unreachable(peer, new URL(url).origin, error);
  }
}

export interface Exemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}
interface ExemplarSeries {
  readonly seriesLabels: Readonly<Record<string, string>>;
  readonly exemplars: readonly Exemplar[];
}
interface InstantSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}
export interface RangeSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}
interface ActiveTarget {
  readonly labels: Record<string, string>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

export class PrometheusApi {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.url = url.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** `data` of a successful answer; an error answer throws with Prometheus's own message. */
  async get<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const query = new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]));
    const response = await request('Prometheus', `${this.url}${path}${query.size > 0 ? `?${query}` : ''}`, this.timeoutMs);
    const body = (await response.json().catch(() => undefined)) as { status?: string; data: T; error?: string } | undefined;
    if (body?.status !== 'success') throw new PrometheusError(`Prometheus at ${this.url} answered ${response.status} to ${path}: ${body?.error ?? 'not the Prometheus API'}`);
    return body.data;
  }

  flags(): Promise<Record<string, string>> {
    return this.get('/api/v1/status/flags');
  }

  /** The loaded configuration, as YAML (scrape_protocols included, defaults filled in). */
  async config(): Promise<string> {
    return (await this.get<{ yaml: string }>('/api/v1/status/config')).yaml;
  }

  async targets(): Promise<ActiveTarget[]> {
    return (await this.get<{ activeTargets: ActiveTarget[] }>('/api/v1/targets', { state: 'active' })).activeTargets;
  }

  /** The syntax tree of Prometheus's own PromQL parser; throws with its message when the expression is invalid. */
  parse(promql: string): Promise<unknown> {
    return this.get('/api/v1/parse_query', { query: promql });
  }

  /** An instant query whose result is a vector. */
  async query(promql: string): Promise<InstantSample[]> {
    return (await this.get<{ result: InstantSample[] }>('/api/v1/query', { query: promql })).result;
  }

  /** An instant query of a range selector (`x[10m]`): the raw samples of each series. */
  async rawSamples(promql: string): Promise<RangeSeries[]> {
    return (await this.get<{ result: RangeSeries[] }>('/api/v1/query', { query: promql })).result;
  }

  /** A range query: each series' values at every `step` (such as '5s') from `start` to `end`, in seconds. */
  async queryRange(promql: string, start: number, end: number, step: string): Promise<RangeSeries[]> {
    return (await this.get<{ result: RangeSeries[] }>('/api/v1/query_range', { query: promql, start, end, step })).result;
  }

  /** The exemplars of the last `sinceSeconds` (and of the next minute, for clocks a little apart). */
  queryExemplars(selector: string, sinceSeconds = 600): Promise<ExemplarSeries[]> {
    const now = Date.now() / 1000;
    return this.get('/api/v1/query_exemplars', { query: selector, start: now - sinceSeconds, end: now + 60 });
  }
}
