// Builds and starts the OpenTelemetry SDK: W3C trace context and baggage, OTLP over gRPC (or HTTP/protobuf), the
// configured sampler, and the instrumentations the service needs. instrumentation.ts starts it before the app loads
// (so the instrumentations patch `node:http`, undici and pino first); src/main.ts owns shutdown. It takes its own
// settings (TracingSettings), never the whole configuration.
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtobufHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
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
import { AcceptedSpans } from './accepted-spans.ts';
import { ExportFailureLog } from './export-failure-log.ts';
import type { Logger } from './logger.ts';
import type { OtlpProtocol, SamplerName, TracingSettings } from './tracing-settings.ts';

export interface Tracing {
  /** Flushes every finished span to the exporter, then stops the SDK. */
  shutdown(): Promise<void>;
  /** The exemplar-marked spans the Collector accepted: /metrics shows only their exemplars. */
  readonly acceptedSpans: AcceptedSpans;
  /** Export failures are logged with this logger, handed over once the service has one (pino loads after the SDK). */
  logExportFailuresTo(logger: Logger): void;
}

export function startTracing(settings: TracingSettings): Tracing {
  const acceptedSpans = new AcceptedSpans({ holdMs: settings.exemplarHoldMs });
  const failures = new ExportFailureLog(createOtlpExporter(settings.otlpProtocol, settings.otlpEndpoint));
  // The instrumentations named below and no other: the package enables all of its forty unless this OpenTelemetry
  // variable lists some (an operator may still widen it).
  process.env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ??= 'http,undici,pino';
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: packageJson.version,
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: settings.deploymentEnvironment,
    }),
    sampler: createSampler(settings.sampler, settings.samplerRatio),
    // A bounded queue, dropped when full: a slow or absent collector never holds a request up.
    spanProcessors: [new BatchSpanProcessor({ exporter: acceptedSpans.watch(failures), maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 1000 })],
    instrumentations: [
      getNodeAutoInstrumentations({
        // Outgoing calls only: server spans come from our Hono middleware, which knows the route template.
        '@opentelemetry/instrumentation-http': { enabled: true, disableIncomingRequestInstrumentation: true },
        // fetch (Node's built-in client is undici).
        '@opentelemetry/instrumentation-undici': { enabled: true },
        // trace_id and span_id on each log line written inside a span; the lines go to stdout only.
        '@opentelemetry/instrumentation-pino': { enabled: true, disableLogSending: true },
      }),
    ],
    // Metrics go through the Prometheus client (for exemplars), logs through pino: the SDK handles traces only.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    shutdown: () => sdk.shutdown(),
    acceptedSpans,
    logExportFailuresTo: (logger) => {
      failures.logger = logger;
    },
  };
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
