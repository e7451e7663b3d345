// Watches span export. MonitoredExporter says, in the service's own log, when export fails and when it recovers, at
// most one warning per interval: a collector that is down for an hour writes a handful of lines, not one per batch.
// ExportHealth tells whether a span ending now can reach the trace store, so that no exemplar is attached to a span
// that will be lost: a dot in Grafana that opens "trace not found" is worse than no dot.
import { TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_EXEMPLAR } from './attributes.ts';
import type { Logger } from './logger.ts';

/**
 * The span IDs of exemplar-marked spans the collector has accepted, the most recent `capacity` of them: of the
 * exemplars attached before anyone could know export was failing, /metrics shows only those whose span got through.
 */
export class ExportedSpans {
  private readonly ids = new Set<string>();
  private readonly capacity: number;

  constructor(capacity = 100_000) {
    this.capacity = capacity;
  }

  add(spans: readonly ReadableSpan[]): void {
    for (const span of spans) {
      if (span.attributes[ATTR_EXEMPLAR] !== true) continue;
      this.ids.add(span.spanContext().spanId);
      // A Set iterates in insertion order: the first is the oldest.
      if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    }
  }

  has(spanId: string): boolean {
    return this.ids.has(spanId);
  }
}

/**
 * Healthy while the last export succeeded, no export has been in flight for longer than `stallMs`, and the batch
 * queue has not dropped a span since. The stall matters because the OTLP exporter retries an unreachable endpoint
 * for up to its 10 s timeout before it reports failure; a healthy export to a collector takes milliseconds. Once
 * unhealthy, only a successful export makes it healthy again. Each change is logged once.
 */
export class ExportHealth {
  private readonly logger: Logger;
  private readonly maxQueueSize: number;
  private readonly stallMs: number;
  private readonly now: () => number;
  /** Why export is failing, from the last export or the queue; undefined while it is not. */
  private failure: string | undefined;
  /** Start times of the exports in flight. */
  private readonly inFlight = new Set<{ startedAt: number }>();
  /** Spans waiting in the batch processor's queue, counted as it counts them. */
  private queued = 0;
  private reportedHealthy = true;
  /** When the latest export that succeeded took its spans: spans that ended later were in no successful batch. */
  private lastGoodBatchAt = Number.NEGATIVE_INFINITY;
  /**
   * From the last good batch to the return of health, most recent last: an exemplar made in one of these may point
   * at a lost span, because the service learns of a failure up to the stall limit (plus a batch) after it began.
   */
  private readonly doubtful: { from: number; to: number }[] = [];

  constructor(logger: Logger, options: { maxQueueSize: number; stallMs?: number; now?: () => number }) {
    this.logger = logger;
    this.maxQueueSize = options.maxQueueSize;
    this.stallMs = options.stallMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Whether an exemplar may point at a span ending now. Cheap: a request asks this. */
  get healthy(): boolean {
    let reason = this.failure;
    if (reason === undefined) {
      for (const { startedAt } of this.inFlight) {
        if (this.now() - startedAt > this.stallMs) reason = `an export has been in flight for more than ${this.stallMs} ms`;
      }
    }
    const healthy = reason === undefined;
    if (healthy !== this.reportedHealthy) {
      this.reportedHealthy = healthy;
      if (healthy) {
        this.doubtful.at(-1)!.to = this.now();
        this.logger.info('exemplars resumed: a span export succeeded');
      } else {
        this.doubtful.push({ from: this.lastGoodBatchAt, to: Number.POSITIVE_INFINITY });
        if (this.doubtful.length > 100) this.doubtful.shift();
        this.logger.warn({ reason }, 'exemplars paused: span export is failing, so no exemplar points at a trace that cannot arrive');
      }
    }
    return healthy;
  }

  /** Whether an exemplar made at `timestampMs` may point at a span lost in a failure noticed only later. */
  doubts(timestampMs: number): boolean {
    return this.doubtful.some(({ from, to }) => timestampMs > from && timestampMs <= to);
  }

  /** A sampled span entered the batch processor: queued, or dropped when the queue is full (as BatchSpanProcessor does). */
  spanEnded(): void {
    if (this.queued < this.maxQueueSize) this.queued += 1;
    else this.failure = 'the span queue is full and drops spans';
  }

  /** The batch processor took `spans` off its queue to export them; call the result with the outcome. */
  exportStarted(spans: number): (succeeded: boolean, error?: Error) => void {
    this.queued = Math.max(0, this.queued - spans);
    const entry = { startedAt: this.now() };
    this.inFlight.add(entry);
    return (succeeded, error) => {
      this.inFlight.delete(entry);
      if (succeeded) this.lastGoodBatchAt = Math.max(this.lastGoodBatchAt, entry.startedAt);
      this.failure = succeeded ? undefined : `export failed: ${error?.message ?? 'unknown error'}`;
      void this.healthy; // logs the change now rather than at the next request
    };
  }
}

/**
 * Counts the spans that enter the batch processor's queue. It must come before the batch processor in the list of
 * span processors; like it, it ignores spans that are not sampled (they are never exported).
 */
export class QueueWatcher implements SpanProcessor {
  private readonly health: ExportHealth;
  constructor(health: ExportHealth) {
    this.health = health;
  }
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) this.health.spanEnded();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class MonitoredExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly logger: Logger;
  private readonly warnEveryMs: number;
  private readonly now: () => number;
  private failedExports = 0;
  private failedSpans = 0;
  private lastWarningAt = Number.NEGATIVE_INFINITY;
  private readonly health: ExportHealth | undefined;
  private readonly exported: ExportedSpans | undefined;

  constructor(
    inner: SpanExporter,
    logger: Logger,
    options: { warnEveryMs?: number; now?: () => number; health?: ExportHealth; exported?: ExportedSpans } = {},
  ) {
    this.inner = inner;
    this.logger = logger;
    this.warnEveryMs = options.warnEveryMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.health = options.health;
    this.exported = options.exported;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const finished = this.health?.exportStarted(spans.length);
    this.inner.export(spans, (result) => {
      const succeeded = result.code === ExportResultCode.SUCCESS;
      if (succeeded) {
        this.exported?.add(spans);
        this.succeeded();
      } else this.failed(spans.length, result.error);
      finished?.(succeeded, result.error);
      resultCallback(result);
    });
  }

  private failed(spans: number, error: Error | undefined): void {
    this.failedExports += 1;
    this.failedSpans += spans;
    if (this.now() - this.lastWarningAt < this.warnEveryMs) return;
    this.lastWarningAt = this.now();
    this.logger.warn(
      { failed_exports: this.failedExports, dropped_spans: this.failedSpans, error: error?.message },
      'span export failing: traces are dropped until the OTLP endpoint answers (requests are not affected)',
    );
  }

  private succeeded(): void {
    if (this.failedExports === 0) return;
    this.logger.info({ failed_exports: this.failedExports, dropped_spans: this.failedSpans }, 'span export resumed');
    this.failedExports = 0;
    this.failedSpans = 0;
    this.lastWarningAt = Number.NEGATIVE_INFINITY;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
