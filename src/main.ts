// Entry point: configuration, then tracing, then the app (imported after the SDK has started, so the HTTP
// instrumentation is in place before the app's modules load), then one shutdown path for SIGTERM and SIGINT.
import { propagation, trace } from '@opentelemetry/api';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger } from './telemetry/logger.ts';
import { startTracing, type Tracing } from './telemetry/tracing.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}
const logger = createLogger({ level: config.logLevel });

let tracing: Tracing | undefined;
if (config.telemetry.enabled) {
  try {
    tracing = startTracing(config.telemetry, logger);
  } catch (error) {
    logger.error({ err: error }, 'tracing failed to start: serving without traces');
  }
}

const { createApp } = await import('./http/app.ts');
const { startServer } = await import('./http/server.ts');
const { createExemplarPolicy, gateExemplars } = await import('./telemetry/exemplar-policy.ts');
const { RequestMetrics } = await import('./telemetry/metrics.ts');

let shuttingDown = false;
const exportHealth = tracing?.exportHealth;
const exportedSpans = tracing?.exportedSpans;
// Exemplars made before the service noticed a failure show only if their span got through: no dot to a lost trace.
const metrics = new RequestMetrics({
  regions: config.metricRegions,
  exemplarShown: exportHealth && exportedSpans && ((spanId, timestampMs) => !exportHealth.doubts(timestampMs) || exportedSpans.has(spanId)),
});
metrics.trackExemplarGate(() => exportHealth?.healthy ?? true);
const exemplarPolicy = createExemplarPolicy(config.exemplars);
const app = createApp({
  settings: config,
  tracer: trace.getTracer('exemplar-demo'),
  propagator: propagation,
  metrics,
  // No exemplar while spans cannot reach the collector: each one would open "trace not found".
  exemplarPolicy: exportHealth === undefined ? exemplarPolicy : gateExemplars(exemplarPolicy, () => exportHealth.healthy),
  logger,
  // Ready once tracing runs (or was switched off on purpose) and until shutdown begins.
  isReady: () => (tracing !== undefined || !config.telemetry.enabled) && !shuttingDown,
});

const http = startServer(app.fetch, {
  host: config.host,
  port: config.port,
  logger,
  onListening: (port) => logger.info({ address: config.host, port, exemplar_policy: config.exemplars.policy }, 'listening'),
});

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  await http.close(config.shutdownTimeoutMs);
  try {
    await tracing?.shutdown();
    logger.info('spans flushed; bye');
  } catch (error) {
    logger.error({ error: (error as Error).message }, 'flushing spans failed: the spans still queued are lost');
  }
  process.exit(0);
}

process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
