// Wraps the span exporter to say, in the service's own log, when export fails and when it recovers, at most one
// warning per interval: a collector that is down for an hour writes a handful of lines, not one per batch.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.ts';

export class MonitoredExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly logger: Logger;
  private readonly warnEveryMs: number;
  private readonly now: () => number;
  private failedExports = 0;
  private failedSpans = 0;
  private lastWarningAt = Number.NEGATIVE_INFINITY;

  constructor(inner: SpanExporter, logger: Logger, options: { warnEveryMs?: number; now?: () => number } = {}) {
    this.inner = inner;
    this.logger = logger;
    this.warnEveryMs = options.warnEveryMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.succeeded();
      else this.failed(spans.length, result.error);
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
