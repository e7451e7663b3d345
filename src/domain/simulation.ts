// What the simulated work needs from outside: a tracer for its spans, randomness (injected so tests can force
// a path) and a way to wait. Shared by the users and orders modules.
import { SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { ATTR_FAULT_ADDED_LATENCY_MS } from '../telemetry/attributes.ts';
import type { FaultSwitch } from './faults.ts';

export interface Simulation {
  readonly tracer: Tracer;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly faults: FaultSwitch;
}

/** Latency added by an active fault on `route`, recorded on `span` so the trace says why it was slow. */
export function injectedLatencyMs(simulation: Simulation, route: string, span: Span): number {
  const added = simulation.faults.addedLatencyMs(route, simulation.random);
  if (added > 0) span.setAttribute(ATTR_FAULT_ADDED_LATENCY_MS, added);
  return added;
}

export const wait = (milliseconds: number): Promise<void> => (milliseconds > 0 ? sleep(milliseconds) : Promise.resolve());

/** Runs `work` inside a child span of the active span, ending it and recording a failure either way. */
export function inSpan<T>(tracer: Tracer, name: string, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
