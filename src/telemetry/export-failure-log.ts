// Span export failures in the service's own log: one warning per interval with the exports and spans lost since the
// last success, and one line when export resumes. A Collector that is down for an hour writes a handful of lines, not
// one per batch.
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.ts';

export class ExportFailureLog implements SpanExporter {
  /** Unset until the service has a logger: pino loads after the SDK, so that the SDK can patch it. */
  logger: Logger | undefined;
  private readonly inner: SpanExporter;
  private readonly warnEveryMs: number;
  private readonly now: () => number;
  private failedExports = 0;
  private droppedSpans = 0;
  private lastWarningAt = Number.NEGATIVE_INFINITY;

  constructor(inner: SpanExporter, options: { readonly warnEveryMs?: number; readonly now?: () => number } = {}) {
    this.inner = inner;
    this.warnEveryMs = options.warnEveryMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  export(...[spans, done]: Parameters<SpanExporter['export']>): void {
    this.inner.export(spans, (result) => {
      const counts = () => ({ failed_exports: this.failedExports, dropped_spans: this.droppedSpans });
      if (result.code === ExportResultCode.SUCCESS) {
        if (this.failedExports > 0) this.logger?.info(counts(), 'span export resumed');
        [this.failedExports, this.droppedSpans, this.lastWarningAt] = [0, 0, Number.NEGATIVE_INFINITY];
      } else {
        this.failedExports += 1;
        this.droppedSpans += spans.length;
        if (this.logger !== undefined && this.now() - this.lastWarningAt >= this.warnEveryMs) {
          this.lastWarningAt = this.now();
          this.logger.warn({ ...counts(), error: result.error?.message }, 'span export failing: traces are dropped until the OTLP endpoint answers (requests are not affected)');
        }
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
