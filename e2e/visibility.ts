// When each exemplar dot could first be drawn and when its trace could first be opened, watched during a run: the
// exemplars Prometheus returns are polled every POLL_MS, and each new one's trace is looked up in the trace store at
// once and then every LOOKUP_MS until it is there. A dot whose first lookup misses is one a user could have clicked
// while its trace was not there yet ("trace not found", then found on a retry).
import { setTimeout as sleep } from 'node:timers/promises';
import { storedExemplars } from '../scripts/doctor.ts';
import type { PrometheusApi } from '../scripts/prometheus-api.ts';
import { median } from '../scripts/stats.ts';

const POLL_MS = 250;
const LOOKUP_MS = 100;
/** Longer than any trace takes (decision wait, batches): a trace not there by then is not coming. */
const LOOKUP_FOR_MS = 30_000;

export interface Sighting {
  readonly traceId: string;
  /** Epoch ms: when the service observed the request (the exemplar's own timestamp, at the request's end). */
  readonly observedAt: number;
  /** Epoch ms: the poll of Prometheus that first returned the exemplar. */
  readonly dotAt: number;
  /** Epoch ms: the lookup that first found the trace; undefined when it was not found within LOOKUP_FOR_MS. */
  traceAt?: number;
  /** Whether the first lookup, made right after the dot appeared, missed the trace. */
  dotBeforeTrace?: boolean;
}

export class VisibilityWatch {
  private readonly prometheus: PrometheusApi;
  private readonly selector: string;
  private readonly traceFound: (traceId: string) => Promise<boolean>;
  private readonly sightings = new Map<string, Sighting>();
  private readonly lookups: Promise<void>[] = [];
  private stopped = false;
  private readonly polling: Promise<void>;

  /** Starts watching the exemplars of `selector` in `prometheus`, looking each trace up with `traceFound`. */
  constructor(prometheus: PrometheusApi, selector: string, traceFound: (traceId: string) => Promise<boolean>) {
    this.prometheus = prometheus;
    this.selector = selector;
    this.traceFound = traceFound;
    this.polling = this.poll();
  }

  /** Stops polling once every trace lookup has ended; resolves with one sighting per exemplar trace. */
  async stop(): Promise<Sighting[]> {
    this.stopped = true;
    await this.polling;
    await Promise.all(this.lookups);
    return [...this.sightings.values()];
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const dotAt = Date.now();
      for (const exemplar of await storedExemplars(this.prometheus, this.selector, 120)) {
        if (exemplar.traceId === undefined || this.sightings.has(exemplar.traceId)) continue;
        const sighting: Sighting = { traceId: exemplar.traceId, observedAt: exemplar.timestamp * 1000, dotAt };
        this.sightings.set(exemplar.traceId, sighting);
        this.lookups.push(this.followTrace(sighting));
      }
      await sleep(POLL_MS);
    }
  }

  private async followTrace(sighting: Sighting): Promise<void> {
    for (let first = true; Date.now() - sighting.dotAt < LOOKUP_FOR_MS; first = false) {
      if (await this.traceFound(sighting.traceId)) {
        sighting.traceAt = Date.now();
        sighting.dotBeforeTrace = !first;
        return;
      }
      await sleep(LOOKUP_MS);
    }
  }
}

/** The figures of a watch: dots drawn before their trace, how long they waited, and request-to-trace times. */
export function visibilityFigures(sightings: readonly Sighting[]) {
  const early = sightings.filter((sighting) => sighting.dotBeforeTrace === true);
  const waits = early.map((sighting) => (sighting.traceAt! - sighting.dotAt) / 1000);
  // Exact only where the trace came after the dot: a trace already there was stored at some time before the dot.
  const requestToTrace = early.map((sighting) => (sighting.traceAt! - sighting.observedAt) / 1000);
  const requestToDot = sightings.map((sighting) => (sighting.dotAt - sighting.observedAt) / 1000);
  return {
    dots: sightings.length,
    dotsBeforeTrace: early.length,
    neverFound: sightings.filter((sighting) => sighting.traceAt === undefined).length,
    longestWaitSeconds: Math.max(0, ...waits),
    longestRequestToTraceSeconds: Math.max(0, ...requestToTrace),
    medianRequestToDotSeconds: sightings.length === 0 ? 0 : median(requestToDot),
  };
}
