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
import { createLogRecordProcessor, LogLossReport } from './logs.ts';
import { type OtlpProtocol, otlpHttpSignalUrl, type SamplerName, type TracingSettings } from './tracing-settings.ts';

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
  const logLosses = new LogLossReport();
  // The instrumentations named below and no other: the package enables all of its forty unless this OpenTelemetry
  // variable lists some (empty counts as unset there, so `||=`). Widening it reaches CommonJS modules only: the loader
  // hook (instrumentation.ts) wraps no ES module but http and pino.
  process.env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ||= 'http,undici,pino';
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: packageJson.version,
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: settings.deploymentEnvironment,
    }),
    sampler: createSampler(settings.sampler, settings.samplerRatio),
    // A bounded queue, dropped when full: a slow or absent collector never holds a request up.
    spanProcessors: [new BatchSpanProcessor({ exporter: acceptedSpans.watch(failures), maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 200 })],
    instrumentations: [
      getNodeAutoInstrumentations({
        // Outgoing calls only: server spans come from our Hono middleware, which knows the route template.
        '@opentelemetry/instrumentation-http': { enabled: true, disableIncomingRequestInstrumentation: true },
        // fetch (Node's built-in client is undici).
        '@opentelemetry/instrumentation-undici': { enabled: true },
        // trace_id and span_id on each log line written inside a span, and each line, as it goes to stdout, also
        // handed to the LoggerProvider below as a log record (src/telemetry/logs.ts).
        '@opentelemetry/instrumentation-pino': { enabled: true },
      }),
    ],
    // Metrics go through the Prometheus client (for exemplars). Logs: pino's lines, handed by the pino
    // instrumentation to the LoggerProvider this registers, leave beside the spans (src/telemetry/logs.ts).
    metricReaders: [],
    logRecordProcessors: [createLogRecordProcessor(settings, logLosses)],
  });
  sdk.start();
  return {
    shutdown: () => sdk.shutdown(),
    acceptedSpans,
    logExportFailuresTo: (logger) => {
      failures.logger = logger;
      logLosses.logger = logger;
    },
  };
}

/** The exporter of OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL. */
function createOtlpExporter(protocol: OtlpProtocol, endpoint: string): SpanExporter {
  if (protocol === 'grpc') return new GrpcTraceExporter({ url: endpoint });
  return new ProtobufHttpTraceExporter({ url: otlpHttpSignalUrl(endpoint, 'traces') });
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
