// JSON log lines (pino). A line written inside a span carries its trace_id and span_id, so it leads to its trace:
// OpenTelemetry's pino instrumentation adds them (started in instrumentation.ts, before pino loads).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { readonly level: string; readonly destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
