// Tracing's settings and the values they may take, apart from tracing.ts so that reading the configuration
// (src/config.ts) does not load the OpenTelemetry SDK: the bench's bare-Hono baseline reads it too.
/** The samplers of OTEL_TRACES_SAMPLER that the service builds. */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** The OTLP transports we ship an exporter for (the specification also names http/json, which we do not). */
export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/** The specification's default endpoint of each transport (the Collector's OTLP ports). */
export const DEFAULT_OTLP_ENDPOINTS: Readonly<Record<OtlpProtocol, string>> = { grpc: 'http://localhost:4317', 'http/protobuf': 'http://localhost:4318' };

/** The OTLP/HTTP URL of one signal. Given a URL, the HTTP exporters send to exactly that URL, so the signal path that
 * the specification appends to OTEL_EXPORTER_OTLP_ENDPOINT is appended here. */
export const otlpHttpSignalUrl = (endpoint: string, signal: 'traces' | 'logs'): string => `${endpoint.replace(/\/+$/, '')}/v1/${signal}`;

/** What tracing needs to know, as the environment gives it (OTEL_*, DEPLOYMENT_ENVIRONMENT). */
export interface TracingSettings {
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly deploymentEnvironment: string;
  readonly otlpProtocol: OtlpProtocol;
  /** The base URL (scheme, host, port), for spans and logs; for http/protobuf, each signal's path is appended. */
  readonly otlpEndpoint: string;
  readonly sampler: SamplerName;
  readonly samplerRatio: number;
  /** How long an exemplar waits after the Collector accepted its span (EXEMPLAR_HOLD_MS; accepted-spans.ts). */
  readonly exemplarHoldMs: number;
}
