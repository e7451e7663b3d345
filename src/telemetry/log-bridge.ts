// Started with `node --import` before any module of the app loads: OpenTelemetry's ESM loader hook (for pino only)
// and the pino instrumentation, so the `pino` that logger.ts imports is patched to hand each line, as it writes it
// to stdout, to the global LoggerProvider as a log record carrying the active span's trace and span IDs. The SDK
// registers that provider when it starts (tracing.ts); records made before then go nowhere. Log correlation (IDs
// in the line) stays with logger.ts's mixin. A minimal stand-in for a full `--import` setup of the SDK, which
// would register this instrumentation with the others.
import { register } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['pino'] } });
registerInstrumentations({ instrumentations: [new PinoInstrumentation({ disableLogCorrelation: true })] });
