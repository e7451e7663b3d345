// Entry point: configuration, then tracing, then the app (imported after the SDK has started, so the HTTP
// instrumentation patches `http` before anything loads it), then one shutdown path for SIGTERM and SIGINT.
import { propagation, trace } from '@opentelemetry/api';
import type { Server } from 'node:http';
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
    tracing = startTracing(config);
  } catch (error) {
    logger.error({ err: error }, 'tracing failed to start: serving without traces');
  }
}

const { serve } = await import('@hono/node-server');
const { createApp } = await import('./http/app.ts');
const { createExemplarPolicy } = await import('./telemetry/exemplar-policy.ts');
const { RequestMetrics } = await import('./telemetry/metrics.ts');

let shuttingDown = false;
const app = createApp({
  config,
  tracer: trace.getTracer('exemplar-demo'),
  propagator: propagation,
  metrics: new RequestMetrics({ regions: config.metricRegions }),
  exemplarPolicy: createExemplarPolicy(config.exemplars),
  logger,
  isReady: () => tracing !== undefined && !shuttingDown,
});

// Plain HTTP/1.1: serve() returns an http.Server unless given HTTP/2 options.
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (address) => {
  logger.info({ address: address.address, port: address.port, exemplar_policy: config.exemplars.policy }, 'listening');
}) as Server;

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const deadline = setTimeout(() => {
    logger.warn({ timeout_ms: config.shutdownTimeoutMs }, 'in-flight requests still open at the timeout: closing them');
    server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  // close() stops accepting and resolves once every in-flight request has finished (idle keep-alives are closed).
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clearTimeout(deadline);
  try {
    await tracing?.shutdown();
    logger.info('spans flushed; bye');
  } catch (error) {
    logger.error({ err: error }, 'flushing spans failed');
  }
  process.exit(0);
}

process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
