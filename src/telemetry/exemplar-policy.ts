// Which observations get an exemplar. The client keeps one exemplar per series and bucket between scrapes (a new
// one replaces it), and Grafana shows one dot per time bucket, so the useful exemplars are the unusual ones: the
// policy decides.
// Strategies are chosen once at start-up (EXEMPLAR_POLICY); the hot path never branches on configuration.

export const EXEMPLAR_POLICIES = ['always', 'rate', 'threshold', 'adaptive'] as const;
type ExemplarPolicyName = (typeof EXEMPLAR_POLICIES)[number];

interface Observation {
  readonly route: string;
  readonly durationSeconds: number;
  readonly isError: boolean;
}

export interface ExemplarPolicy {
  shouldAttach(observation: Observation): boolean;
}

/** The policy's settings, as the environment gives them (EXEMPLAR_*). */
export interface ExemplarSettings {
  readonly policy: ExemplarPolicyName;
  readonly rate: number;
  readonly thresholdSeconds: number;
  readonly windowSeconds: number;
}

export interface PolicyOptions extends ExemplarSettings {
  /** Uniform in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number;
  /** Milliseconds; injected so tests can move the window. */
  readonly now?: () => number;
}

export function createExemplarPolicy(options: PolicyOptions): ExemplarPolicy {
  const random = options.random ?? Math.random;
  switch (options.policy) {
    case 'always':
      return { shouldAttach: () => true };
    case 'rate':
      return { shouldAttach: ({ isError }) => isError || random() < options.rate };
    case 'threshold':
      return { shouldAttach: ({ isError, durationSeconds }) => isError || durationSeconds >= options.thresholdSeconds };
    case 'adaptive':
      return new AdaptivePolicy(options.thresholdSeconds, options.windowSeconds * 1000, random, options.now ?? Date.now);
  }
}

/** Share of observations kept in each band of the adaptive policy. */
const ADAPTIVE_NEAR_P99_SHARE = 0.1;
const ADAPTIVE_REST_SHARE = 0.01;
/** Below this many samples in the window the p99 means little, so every observation is kept. */
export const ADAPTIVE_MIN_SAMPLES = 100;
const WINDOW_CAPACITY = 2048;
/**
 * The p99 is recomputed after this many observations of a route, and at most every RECOMPUTE_MIN_MS: at high
 * request rates the sort then costs a few nanoseconds per request, at low rates the p99 still follows the traffic.
 */
const RECOMPUTE_EVERY = 64;
const RECOMPUTE_MIN_MS = 1000;

/**
 * Always above the running p99 of the route, 10% of those between 0.8×p99 and p99, 1% of the rest; errors and
 * requests at or above the slow threshold always. The threshold matters when slow requests are common: they
 * then make up the p99 themselves, and without it half of them would fall just below it and mostly go unmarked,
 * leaving scrape intervals with slow requests but no slow exemplar.
 * The window is the last WINDOW_CAPACITY observations of each route that are younger than windowMs.
 */
class AdaptivePolicy implements ExemplarPolicy {
  private readonly windows = new Map<string, RouteWindow>();
  private readonly thresholdSeconds: number;
  private readonly windowMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(thresholdSeconds: number, windowMs: number, random: () => number, now: () => number) {
    this.thresholdSeconds = thresholdSeconds;
    this.windowMs = windowMs;
    this.random = random;
    this.now = now;
  }

  shouldAttach({ route, durationSeconds, isError }: Observation): boolean {
    let window = this.windows.get(route);
    if (window === undefined) {
      window = new RouteWindow();
      this.windows.set(route, window);
    }
    const p99 = window.p99BeforeAdding(durationSeconds, this.now(), this.windowMs);
    if (isError || durationSeconds >= this.thresholdSeconds || p99 === undefined || durationSeconds >= p99) return true;
    if (durationSeconds >= 0.8 * p99) return this.random() < ADAPTIVE_NEAR_P99_SHARE;
    return this.random() < ADAPTIVE_REST_SHARE;
  }
}

class RouteWindow {
  private readonly durations = new Float64Array(WINDOW_CAPACITY);
  private readonly timestamps = new Float64Array(WINDOW_CAPACITY);
  private size = 0;
  private next = 0;
  private sinceRecompute = RECOMPUTE_EVERY;
  private computedAt = Number.NEGATIVE_INFINITY;
  private p99: number | undefined;

  /** The p99 of the window as it was before this observation, then the observation joins the window. */
  p99BeforeAdding(durationSeconds: number, nowMs: number, windowMs: number): number | undefined {
    if (this.sinceRecompute >= RECOMPUTE_EVERY && nowMs - this.computedAt >= RECOMPUTE_MIN_MS) {
      this.p99 = this.computeP99(nowMs - windowMs);
      this.sinceRecompute = 0;
      this.computedAt = nowMs;
    }
    const p99 = this.p99;
    this.durations[this.next] = durationSeconds;
    this.timestamps[this.next] = nowMs;
    this.next = (this.next + 1) % WINDOW_CAPACITY;
    this.size = Math.min(this.size + 1, WINDOW_CAPACITY);
    this.sinceRecompute += 1;
    return p99;
  }

  private readonly scratch = new Float64Array(WINDOW_CAPACITY);

  private computeP99(oldestMs: number): number | undefined {
    let count = 0;
    for (let i = 0; i < this.size; i += 1) {
      if (this.timestamps[i]! >= oldestMs) this.scratch[count++] = this.durations[i]!;
    }
    if (count < ADAPTIVE_MIN_SAMPLES) return undefined;
    // A typed array sorts numerically, without a comparator call per comparison.
    const recent = this.scratch.subarray(0, count).sort();
    return recent[Math.ceil(count * 0.99) - 1];
  }
}
