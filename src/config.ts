// The service's own settings, read from the environment once at start-up and validated with zod.
// Telemetry keeps the standard OTEL_* variable names. Those the service builds tracing from (service name, endpoint,
// protocol, sampler, OTEL_SDK_DISABLED) are validated here, so a typo stops the service with the variable's name;
// the rest (headers, timeouts, resource attributes) the OpenTelemetry SDK reads itself.
import { z } from 'zod';
import type { AppSettings } from './http/app.ts';
import { EXEMPLAR_POLICIES, type ExemplarSettings } from './telemetry/exemplar-policy.ts';
import { grafanaTraceUrl } from './telemetry/trace-links.ts';
import { DEFAULT_OTLP_ENDPOINTS, OTLP_PROTOCOLS, SAMPLERS, type TracingSettings } from './telemetry/tracing-settings.ts';

const milliseconds = (fallback: number) => z.coerce.number().int().min(0).max(600_000).default(fallback);
const probability = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((list) => list.split(',').map((item) => item.trim()).filter((item) => item !== ''))
    .pipe(z.array(z.string().regex(/^[a-z0-9-]{1,32}$/, 'lowercase letters, digits and dashes, at most 32')).max(20));

const environmentSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    DEPLOYMENT_ENVIRONMENT: z.string().min(1).default('demo'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),

    USERS_BASE_LATENCY_MS: milliseconds(20),
    USERS_JITTER_MS: milliseconds(30),
    USERS_SLOW_PROBABILITY: probability(0.05),
    USERS_SLOW_LATENCY_MS: milliseconds(800),
    ORDERS_FETCH_MIN_MS: milliseconds(30),
    ORDERS_FETCH_MAX_MS: milliseconds(50),
    PAYMENT_LATENCY_MS: milliseconds(50),
    PAYMENT_SLOW_PROBABILITY: probability(0.1),
    PAYMENT_SLOW_LATENCY_MS: milliseconds(2000),
    PAYMENT_FAILURE_PROBABILITY: probability(0.02),
    // A real payment service to ask instead of the simulated one (GET, any 2xx answer is "paid").
    PAYMENT_SERVICE_URL: z.url({ protocol: /^https?$/ }).optional(),

    EXEMPLAR_POLICY: z.enum(EXEMPLAR_POLICIES).default('adaptive'),
    EXEMPLAR_RATE: probability(0.1),
    EXEMPLAR_THRESHOLD_MS: milliseconds(500),
    EXEMPLAR_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    // An exemplar is shown once the Collector accepted its span, and this long after (its tail-sampling decision wait).
    EXEMPLAR_HOLD_MS: milliseconds(0),

    // The characters of an RFC 6750 bearer token: hono/bearer-auth refuses any other as a malformed header.
    ADMIN_TOKEN: z
      .string()
      .min(16, 'at least 16 characters')
      .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'letters, digits and . _ ~ + / - only (a bearer token), optionally ending in =')
      .optional(),
    METRIC_REGIONS: commaList('eu-west,us-east,ap-south'),
    SLOW_REQUEST_THRESHOLD_MS: milliseconds(2000),
    GRAFANA_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:3000'),
    // Overrides the Grafana Explore link built from GRAFANA_URL, for another trace UI.
    TRACE_URL_TEMPLATE: z
      .string()
      .refine((template) => template.includes('{trace_id}'), 'must contain the placeholder {trace_id}')
      .optional(),

    OTEL_SERVICE_NAME: z.string().min(1).default('exemplar-demo'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    // gRPC is the design's default; the traces-only variable overrides the general one, as in the specification.
    OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(OTLP_PROTOCOLS).default('grpc'),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(OTLP_PROTOCOLS).optional(),
    OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
    OTEL_TRACES_SAMPLER_ARG: probability(1),
    OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  })
  .refine((env) => env.ORDERS_FETCH_MIN_MS <= env.ORDERS_FETCH_MAX_MS, {
    path: ['ORDERS_FETCH_MAX_MS'],
    message: 'must not be below ORDERS_FETCH_MIN_MS',
  })
  // The one mix-up the protocol switch invites: the other transport's well-known Collector port, which answers
  // with nothing but failed exports.
  .refine(
    (env) => {
      const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
      const port = env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? '' : new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT).port;
      return !(protocol === 'grpc' && port === '4318') && !(protocol === 'http/protobuf' && port === '4317');
    },
    { path: ['OTEL_EXPORTER_OTLP_ENDPOINT'], message: 'port 4317 is OTLP/gRPC and 4318 OTLP/HTTP: match OTEL_EXPORTER_OTLP_PROTOCOL' },
  );

type Environment = z.infer<typeof environmentSchema>;

/** Every environment variable the service reads: docker-compose.yml passes each one to the app container. */
export const SERVICE_VARIABLES = Object.keys(environmentSchema.shape) as readonly (keyof Environment)[];

/** The app's settings (http/app.ts) and what main.ts needs around the app. */
export interface Config extends AppSettings {
  readonly host: string;
  readonly port: number;
  readonly logLevel: Environment['LOG_LEVEL'];
  readonly shutdownTimeoutMs: number;
  readonly exemplars: ExemplarSettings;
  readonly metricRegions: readonly string[];
  readonly telemetry: TracingSettings;
}

/** Thrown for a bad environment; the message names every offending variable and its rule. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  // Empty strings count as unset, as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const otlpProtocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL;
  return deepFreeze({
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    users: {
      baseLatencyMs: e.USERS_BASE_LATENCY_MS,
      jitterMs: e.USERS_JITTER_MS,
      slowProbability: e.USERS_SLOW_PROBABILITY,
      slowLatencyMs: e.USERS_SLOW_LATENCY_MS,
    },
    orders: {
      fetchMinMs: e.ORDERS_FETCH_MIN_MS,
      fetchMaxMs: e.ORDERS_FETCH_MAX_MS,
      paymentLatencyMs: e.PAYMENT_LATENCY_MS,
      paymentSlowProbability: e.PAYMENT_SLOW_PROBABILITY,
      paymentSlowLatencyMs: e.PAYMENT_SLOW_LATENCY_MS,
      paymentFailureProbability: e.PAYMENT_FAILURE_PROBABILITY,
      paymentServiceUrl: e.PAYMENT_SERVICE_URL,
    },
    exemplars: {
      policy: e.EXEMPLAR_POLICY,
      rate: e.EXEMPLAR_RATE,
      thresholdSeconds: e.EXEMPLAR_THRESHOLD_MS / 1000,
      windowSeconds: e.EXEMPLAR_WINDOW_SECONDS,
    },
    metricRegions: e.METRIC_REGIONS,
    adminToken: e.ADMIN_TOKEN,
    slowRequestThresholdSeconds: e.SLOW_REQUEST_THRESHOLD_MS / 1000,
    traceUrl: (traceId: string) =>
      e.TRACE_URL_TEMPLATE === undefined ? grafanaTraceUrl(e.GRAFANA_URL, traceId) : e.TRACE_URL_TEMPLATE.replaceAll('{trace_id}', traceId),
    telemetry: {
      enabled: e.OTEL_SDK_DISABLED === 'false',
      serviceName: e.OTEL_SERVICE_NAME,
      deploymentEnvironment: e.DEPLOYMENT_ENVIRONMENT,
      otlpProtocol,
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINTS[otlpProtocol],
      sampler: e.OTEL_TRACES_SAMPLER,
      samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
      exemplarHoldMs: e.EXEMPLAR_HOLD_MS,
    },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
