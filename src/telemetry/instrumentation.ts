// Started with `node --import ./src/telemetry/instrumentation.ts src/main.ts`, before any module of the app loads,
// as OpenTelemetry JS documents it for ES modules: OpenTelemetry's loader hook first, so the modules loaded after it
// can be patched (`node:http`, undici, pino), then the SDK. src/main.ts reads what was started here.
import { register } from 'node:module';
import { ConfigError, loadConfig } from '../config.ts';
import { startTracing, type Tracing } from './tracing.ts';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

/** The running SDK; or why there is none: switched off (OTEL_SDK_DISABLED), or the error that stopped it starting. */
export const tracing: { readonly running: Tracing } | { readonly off: true } | { readonly failed: unknown } = start();

function start() {
  try {
    const { telemetry } = loadConfig();
    return telemetry.enabled ? { running: startTracing(telemetry) } : { off: true as const };
  } catch (error) {
    // A bad configuration is main.ts's to report (and exit on); anything else, the service serves without traces.
    return error instanceof ConfigError ? { off: true as const } : { failed: error };
  }
}
