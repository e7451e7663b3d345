// Started with `node --import` before any module of the app loads: OpenTelemetry's ESM loader hook (for pino only)
// and the pino instrumentation, so the `pino` that logger.ts imports is patched to hand each line, as it writes it
// to stdout, to the global LoggerProvider as a log record carrying the active span's trace and span IDs. The SDK
// registers that provider when it starts (tracing.ts); records made before then go nowhere. Log correlation (IDs
// in the line) stays with logger.ts's mixin. A minimal stand-in for a full `--import` setup of the SDK, which
// would register this instrumentation with the others.
import { register as registerOffThread } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { register as registerInThread, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';

const HOOKED = ['pino'];
// In the app's own thread (module.registerHooks, Node >= 24.11.1) where Node allows it: the off-thread loader of
// module.register() runs a second V8 isolate, 25-30 MiB of RSS measured here, for a hook that patches one module.
if (supportsSyncHooks()) registerInThread({ include: HOOKED });
else registerOffThread('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: HOOKED } });
registerInstrumentations({ instrumentations: [new PinoInstrumentation({ disableLogCorrelation: true })] });
