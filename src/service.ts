// The service, assembled in one place: src/main.ts serves it, and the tests, the bench and e2e build it here too, so
// each runs production's wiring, the exemplar rule included. A caller swaps only what a test must: where spans go,
// where log lines go, the randomness and the fault switch (with its clock).
import { propagation, trace, type Tracer } from '@opentelemetry/api';
import type { DestinationStream } from 'pino';
import type { Config } from './config.ts';
import type { FaultSwitch } from './domain/faults.ts';
import { createApp } from './http/app.ts';
import { createExemplarPolicy, type ExemplarPolicy } from './telemetry/exemplar-policy.ts';
import type { tracing as startedTracing } from './telemetry/instrumentation.ts';
import { createLogger } from './telemetry/logger.ts';
import { RequestMetrics } from './telemetry/metrics.ts';
import type { Tracing } from './telemetry/tracing.ts';

/** What instrumentation.ts started, or a test's stand-in for it (an in-memory exporter behind the same rule). */
type TracingState = typeof startedTracing;
type RunningTracing = Pick<Tracing, 'acceptedSpans' | 'logExportFailuresTo'>;

interface ServiceOverrides {
  /** The tracer of the SDK that instrumentation.ts started (the global one) unless given. */
  readonly tracer?: Tracer;
  readonly logDestination?: DestinationStream;
  readonly random?: () => number;
  readonly faults?: FaultSwitch;
  readonly exemplarPolicy?: ExemplarPolicy;
  /** The process metrics (CPU, memory, event loop): on unless a test renders many registries. */
  readonly processMetrics?: boolean;
}

export function createService(config: Config, tracing: TracingState | { readonly running: RunningTracing }, overrides: ServiceOverrides = {}) {
  const logger = createLogger({ level: config.logLevel, destination: overrides.logDestination });
  const running = 'running' in tracing ? tracing.running : undefined;
  running?.logExportFailuresTo(logger);
  if ('failed' in tracing) logger.error({ err: tracing.failed }, 'tracing failed to start: serving without traces');
  const metrics = new RequestMetrics({ regions: config.metricRegions, processMetrics: overrides.processMetrics, acceptedSpans: running?.acceptedSpans });
  let shuttingDown = false;
  const app = createApp({
    settings: config,
    tracer: overrides.tracer ?? trace.getTracer('exemplar-demo'),
    propagator: propagation,
    metrics,
    exemplarPolicy: overrides.exemplarPolicy ?? createExemplarPolicy(config.exemplars),
    logger,
    // Ready once tracing runs (or was switched off on purpose) and until shutdown begins.
    isReady: () => !('failed' in tracing) && !shuttingDown,
    random: overrides.random,
    faults: overrides.faults,
  });
  return {
    app,
    logger,
    metrics,
    /** Readiness turns false: shutdown has begun. */
    beginShutdown: () => void (shuttingDown = true),
  };
}
