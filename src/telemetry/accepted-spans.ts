// The no-dangling rule: an exemplar is shown once the Collector has accepted its span. A dot in Grafana that opens
// "trace not found" is worse than no dot, and only the exporter's success callback knows which spans got through.
// An exemplar whose span is not accepted yet is left out of the scrape and shown at a later one; Prometheus stores an
// exemplar with its own timestamp, so one shown a scrape later keeps its place on the graph. One whose span is never
// accepted (the Collector was down) is never shown.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { Metric } from '@prometheus-io/client';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_EXEMPLAR } from './attributes.ts';

export class AcceptedSpans {
  /** Span ID to the time the Collector accepted it, exemplar-marked spans only, oldest first. */
  private readonly acceptedAt = new Map<string, number>();
  private readonly holdMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  /** Per stored exemplar (the client keeps one object per series and bucket, and overwrites it), the copy of it that
   * the last scrape left out. */
  private readonly leftOut = new WeakMap<Exemplar, Exemplar>();

  /**
   * `holdMs`: how long after acceptance an exemplar still waits (EXEMPLAR_HOLD_MS), for a Collector that decides on
   * a trace some time after accepting its spans (tail sampling's decision wait); 0 shows it at once.
   */
  constructor(options: { readonly holdMs?: number; readonly capacity?: number; readonly now?: () => number } = {}) {
    this.holdMs = options.holdMs ?? 0;
    this.capacity = options.capacity ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** `exporter`, telling this set which spans each successful export delivered. */
  watch(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) =>
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) this.add(spans);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /** Whether a scrape may show the exemplar of span `spanId`. */
  shows(spanId: string): boolean {
    const acceptedAt = this.acceptedAt.get(spanId);
    return acceptedAt !== undefined && this.now() - acceptedAt >= this.holdMs;
  }

  /** `metric` as a scrape reads it: each exemplar as the rule shows it (see shown). */
  scrapeView<M extends Metric<string>>(metric: M): M {
    const read = async (method: 'get' | 'getForPromString') => {
      const data = (await (metric as unknown as Readable)[method]()) as { values: { exemplar?: Exemplar | null }[] };
      return { ...data, values: data.values.map((sample) => (sample.exemplar ? { ...sample, exemplar: this.shown(sample.exemplar) } : sample)) };
    };
    // Histograms render through getForPromString, counters through get: the view answers whichever the metric has.
    return new Proxy(metric, { get: (target, key) => ((key === 'get' || key === 'getForPromString') && key in target ? () => read(key) : Reflect.get(target, key)) });
  }

  /**
   * What a scrape shows of a stored exemplar: the one the last scrape left out, once its span is accepted, if a newer
   * one has replaced it since (it belongs to an earlier scrape interval; the newer one then waits a scrape); else the
   * stored one if its span is accepted; else none, and the stored one is remembered as left out.
   */
  private shown(stored: Exemplar): Exemplar | undefined {
    const earlier = this.leftOut.get(stored);
    this.leftOut.delete(stored);
    if (earlier !== undefined && earlier.labelSet !== stored.labelSet && this.shows(earlier.labelSet.span_id)) {
      this.leftOut.set(stored, { ...stored });
      return earlier;
    }
    if (this.shows(stored.labelSet.span_id)) return stored;
    this.leftOut.set(stored, { ...stored });
    return undefined;
  }

  private add(spans: readonly ReadableSpan[]): void {
    const now = this.now();
    for (const span of spans) {
      if (span.attributes[ATTR_EXEMPLAR] !== true) continue;
      this.acceptedAt.set(span.spanContext().spanId, now);
      // A Map iterates in insertion order: the first key is the oldest.
      if (this.acceptedAt.size > this.capacity) this.acceptedAt.delete(this.acceptedAt.keys().next().value!);
    }
  }
}

/** An exemplar as the client's metrics hand it to a registry (their types leave it out). */
interface Exemplar {
  readonly labelSet: { readonly span_id: string };
  readonly value: number;
  readonly timestamp: number;
}
type Readable = Record<'get' | 'getForPromString', () => Promise<unknown>>;
