// Entry point, started after the SDK (`node --import ./src/telemetry/instrumentation.ts src/main.ts`): configuration,
// the service (src/service.ts), the server, and one shutdown path for SIGTERM and SIGINT.
import { type Config, ConfigError, loadConfig } from './config.ts';
import { startServer } from './http/server.ts';
import { createService } from './service.ts';
import { tracing } from './telemetry/instrumentation.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}

const { app, logger, beginShutdown } = createService(config, tracing);
const http = startServer(app.fetch, {
  host: config.host,
  port: config.port,
  logger,
  onListening: (port) => logger.info({ address: config.host, port, exemplar_policy: config.exemplars.policy }, 'listening'),
});

let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  beginShutdown();
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  await http.close(config.shutdownTimeoutMs);
  if ('running' in tracing) {
    try {
      await tracing.running.shutdown();
      logger.info('spans flushed; bye');
    } catch (error) {
      logger.error({ error: (error as Error).message }, 'flushing spans failed: the spans still queued are lost');
    }
  }
  process.exit(0);
}

process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
