// The fault switch: an operator (or the load script's spike phase) makes a route slow, or fail, on purpose for a
// while. Time-boxed: a fault carries its own expiry and is dropped once past it, so it resets by itself with no
// timer to leak. One fault at a time, replaced whole, so concurrent updates can never leave a mixed state.
import type { RequestMetrics } from '../telemetry/metrics.ts';

export const MAX_FAULT_SECONDS = 600;

interface FaultSpec {
  /** The route the fault applies to, as the HTTP layer names it, or '*' for every route. */
  readonly route: string;
  /** Share of requests on the route that get the added latency. */
  readonly slowProbability: number;
  readonly addedLatencyMs: number;
  /** Share of requests on the route whose work throws (an unhandled exception: 500). */
  readonly errorProbability: number;
  readonly durationSeconds: number;
}

/** What the fault in force does to one request. */
export interface FaultEffect {
  readonly addedLatencyMs: number;
  readonly fails: boolean;
}

export const NO_EFFECT: FaultEffect = Object.freeze({ addedLatencyMs: 0, fails: false });

/** The exception an injected fault throws; nothing handles it specially, so it ends as a 500. */
export class InjectedFaultError extends Error {
  override name = 'InjectedFaultError';
}

interface ActiveFault extends FaultSpec {
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export class FaultSwitch {
  private fault: ActiveFault | undefined;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  set(spec: FaultSpec): void {
    this.fault = Object.freeze({ ...spec, expiresAt: this.now() + spec.durationSeconds * 1000 });
  }

  clear(): void {
    this.fault = undefined;
  }

  /** The fault in force now, if any. */
  active(): ActiveFault | undefined {
    if (this.fault !== undefined && this.now() >= this.fault.expiresAt) this.fault = undefined;
    return this.fault;
  }

  /** The effect on one request on `route`: latency and failure, each drawn with the fault's probability. */
  effectOn(route: string, random: () => number): FaultEffect {
    const fault = this.active();
    if (fault === undefined || (fault.route !== '*' && fault.route !== route)) return NO_EFFECT;
    return { addedLatencyMs: random() < fault.slowProbability ? fault.addedLatencyMs : 0, fails: random() < fault.errorProbability };
  }
}

/**
 * The switch on /metrics, read at scrape time: fault_injection_active{route} (1 while a fault is in force) and
 * fault_injection_added_latency_seconds{route}. Once a fault expires or is cleared its series are absent from the
 * next scrape (they do not read 0), so the dashboard's "Fault switch on" region ends there.
 */
export function showFaultsOnMetrics(faults: FaultSwitch, metrics: RequestMetrics): void {
  const gauge = (name: string, help: string, value: (fault: ActiveFault) => number) =>
    metrics.gaugeReadAtScrape(name, help, ['route'], () => {
      const fault = faults.active();
      return fault === undefined ? [] : [{ labels: { route: fault.route }, value: value(fault) }];
    });
  gauge('fault_injection_active', 'Whether an injected fault (POST /admin/faults) is in force, by route ("*" for all).', () => 1);
  gauge('fault_injection_added_latency_seconds', 'Latency the injected fault adds to the requests it hits.', (fault) => fault.addedLatencyMs / 1000);
}
