// Builds and starts the OpenTelemetry SDK: W3C trace context and baggage, OTLP over gRPC (or HTTP/protobuf), the
// configured sampler. src/main.ts calls it before the app is imported (so the HTTP instrumentation patches `http`
// first) and owns shutdown. It takes its own settings (TracingSettings), never the whole configuration.
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtobufHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_DEPLOYMENT_ENVIRONMENT_NAME, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import packageJson from '../../package.json' with { type: 'json' };
import { ExportedSpans, ExportHealth, MonitoredExporter, QueueWatcher } from './export-monitor.ts';
import type { Logger } from './logger.ts';
import type { OtlpProtocol, SamplerName, TracingSettings } from './tracing-settings.ts';

export interface Tracing {
  /** Flushes every finished span to the exporter, then stops the SDK. */
  shutdown(): Promise<void>;
  /** Whether a span ending now can reach the collector: exemplars are attached only then. */
  readonly exportHealth: ExportHealth;
  /** The exemplar-marked spans the collector accepted: /metrics shows only their exemplars. */
  readonly exportedSpans: ExportedSpans;
}

const MAX_QUEUE_SIZE = 4096;

export function startTracing(settings: TracingSettings, logger: Logger): Tracing {
  const exportHealth = new ExportHealth(logger, { maxQueueSize: MAX_QUEUE_SIZE });
  const exportedSpans = new ExportedSpans();
  const exporter = new MonitoredExporter(createOtlpExporter(settings.otlpProtocol, settings.otlpEndpoint), logger, {
    health: exportHealth,
    exported: exportedSpans,
  });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: packageJson.version,
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: settings.deploymentEnvironment,
    }),
    sampler: createSampler(settings.sampler, settings.samplerRatio),
    // A bounded queue, dropped when full: a slow or absent collector never holds a request up.
    // The watcher counts what enters the batch queue, so the export health knows when the queue drops spans.
    spanProcessors: [
      new QueueWatcher(exportHealth),
      new BatchSpanProcessor({ exporter, maxQueueSize: MAX_QUEUE_SIZE, maxExportBatchSize: 512, scheduledDelayMillis: 200 }),
    ],
    // Server spans come from our Hono middleware, which knows the route template; the HTTP instrumentation is
    // kept for outgoing calls only, so a downstream HTTP call joins the trace without a second server span.
    instrumentations: [new HttpInstrumentation({ disableIncomingRequestInstrumentation: true })],
    // Metrics go through the Prometheus client (for exemplars), logs through pino: the SDK handles traces only.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown(), exportHealth, exportedSpans };
}

/** The exporter of OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL. Given a URL, the HTTP exporter sends to exactly that URL, so the
 * signal path that the specification appends to OTEL_EXPORTER_OTLP_ENDPOINT is appended here. */
function createOtlpExporter(protocol: OtlpProtocol, endpoint: string): SpanExporter {
  if (protocol === 'grpc') return new GrpcTraceExporter({ url: endpoint });
  return new ProtobufHttpTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
}

/** The samplers of OTEL_TRACES_SAMPLER, built from the validated configuration. */
function createSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
