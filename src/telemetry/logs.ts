// The service's log lines as OpenTelemetry log records, sent beside the spans: the pino instrumentation hands each
// line to the global LoggerProvider (registered by the SDK with the processor built here), and the record leaves
// over OTLP to the same endpoint, with the same transport, as the spans. A Collector that is down or slow never
// holds a request up: the queue is bounded and drops when full, and what is lost is counted and said in the
// service's own log at most once per interval.
import { type Counter, createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtobufHttpLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { METRIC_OTEL_SDK_PROCESSOR_LOG_PROCESSED } from '@opentelemetry/semantic-conventions/incubating';
import type { Logger } from './logger.ts';
import { otlpHttpSignalUrl, type TracingSettings } from './tracing-settings.ts';

/** 2048 records, about 1.5 MiB of heap full (slow-request warnings, measured); the service writes a few lines a
 * second, so only an outage fills it. */
const LOG_QUEUE_SIZE = 2048;

/** The log records' way out: OTLP to the spans' endpoint, through a bounded batch queue whose losses are reported. */
export function createLogRecordProcessor(settings: Pick<TracingSettings, 'otlpProtocol' | 'otlpEndpoint'>, report: LogLossReport): BatchLogRecordProcessor {
  const exporter =
    settings.otlpProtocol === 'grpc'
      ? new GrpcLogExporter({ url: settings.otlpEndpoint })
      : new ProtobufHttpLogExporter({ url: otlpHttpSignalUrl(settings.otlpEndpoint, 'logs') });
  return boundedLogProcessor(exporter, report);
}

/** A batch processor that drops what does not fit its queue, and tells `report` about every record it finishes. */
export function boundedLogProcessor(exporter: LogRecordExporter, report: LogLossReport, maxQueueSize = LOG_QUEUE_SIZE): BatchLogRecordProcessor {
  return new BatchLogRecordProcessor({
    exporter,
    maxQueueSize,
    maxExportBatchSize: Math.min(512, maxQueueSize),
    scheduledDelayMillis: 1000,
    selfObsMeterProvider: report.meterProvider,
  });
}

/** The `error.type` the batch processor gives a record it dropped because its queue was full. */
const QUEUE_FULL = 'queue_full';

/**
 * Counts the log records lost on the way out, from the batch processor's own metric: `error.type` is `queue_full`
 * for a record dropped because the queue was full, another value for a record in a failed export, absent for a
 * record exported. The processor reports each loss as it happens, so the count is exact, queue overflow included
 * (an exporter wrapper would see failed exports only). Warns at most once per `warnEveryMs` while records are lost;
 * says once when an export succeeds again.
 */
export class LogLossReport {
  readonly meterProvider: MeterProvider;
  /** Unset until the service has a logger: pino loads after the SDK, so that the SDK can patch it. */
  logger: Logger | undefined;
  private readonly warnEveryMs: number;
  private readonly now: () => number;
  private droppedQueueFull = 0;
  private droppedExportFailed = 0;
  private lastWarningAt = Number.NEGATIVE_INFINITY;

  constructor(logger?: Logger, options: { warnEveryMs?: number; now?: () => number } = {}) {
    this.logger = logger;
    this.warnEveryMs = options.warnEveryMs ?? 30_000;
    this.now = options.now ?? Date.now;
    // The batch processor's self-observability counter of finished records, read as it is added to; every other
    // instrument it creates (queue size, capacity) stays a no-op.
    const processed: Counter = { add: (count, attributes) => this.finished(count, attributes?.[ATTR_ERROR_TYPE]) };
    const noop = createNoopMeter();
    const meter: Meter = Object.assign(Object.create(noop) as Meter, {
      createCounter: (name: string) => (name === METRIC_OTEL_SDK_PROCESSOR_LOG_PROCESSED ? processed : noop.createCounter(name)),
    });
    this.meterProvider = { getMeter: () => meter };
  }

  /** Records lost since the last successful export. */
  get dropped(): { readonly queueFull: number; readonly exportFailed: number } {
    return { queueFull: this.droppedQueueFull, exportFailed: this.droppedExportFailed };
  }

  private finished(count: number, errorType: unknown): void {
    if (errorType === undefined) {
      this.exported();
      return;
    }
    if (errorType === QUEUE_FULL) this.droppedQueueFull += count;
    else this.droppedExportFailed += count;
    if (this.now() - this.lastWarningAt < this.warnEveryMs) return;
    // Set before writing: the warning is a log record itself, which a full queue drops, which would warn again.
    this.lastWarningAt = this.now();
    this.logger?.warn(
      { dropped_log_records: this.droppedQueueFull + this.droppedExportFailed, queue_full: this.droppedQueueFull, failed_exports: this.droppedExportFailed, error_type: errorType },
      'log export failing: log records are dropped until the OTLP endpoint answers (requests are not affected; stdout keeps every line)',
    );
  }

  private exported(): void {
    if (this.droppedQueueFull + this.droppedExportFailed === 0) return;
    const dropped = { queue_full: this.droppedQueueFull, failed_exports: this.droppedExportFailed };
    this.droppedQueueFull = 0;
    this.droppedExportFailed = 0;
    this.lastWarningAt = Number.NEGATIVE_INFINITY;
    this.logger?.info(dropped, 'log export resumed');
  }
}
