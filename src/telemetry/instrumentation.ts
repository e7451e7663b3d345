// Started with `node --import ./src/telemetry/instrumentation.ts src/main.ts`, before any module of the app loads,
// as OpenTelemetry JS documents it for ES modules: OpenTelemetry's loader hook first, so the modules loaded after it
// can be patched (`node:http`, pino; undici is reached through its diagnostics channel), then the SDK. src/main.ts
// reads what was started here.
import { register } from 'node:module';
import { ConfigError, loadConfig } from '../config.ts';
import { startTracing, type Tracing } from './tracing.ts';

// OpenTelemetry's loader hook (import-in-the-middle), for the modules an enabled instrumentation patches through it:
// node:http and pino (undici, fetch's client, reports through its diagnostics channel and needs no hook). Wrapping
// only these spares the memory and start-up time of wrapping every module the app imports. The hook runs in the
// loader's own thread, as documented; import-in-the-middle's in-thread variant (module.registerHooks) would save
// that thread's 25-30 MiB, but in Node 24.21 it does not reach `node:http` (tried: no CLIENT span).
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['http', 'https', 'pino'] } });

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
