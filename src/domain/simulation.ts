// What the simulated work needs from outside: a tracer for its spans, randomness (injected so tests can force
// a path) and the injected fault of its route (the HTTP layer knows which route that is). Shared by the users and
// orders modules.
import { SpanStatusCode, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { ATTR_FAULT_ADDED_LATENCY_MS } from '../telemetry/attributes.ts';
import { type FaultEffect, InjectedFaultError } from './faults.ts';

export interface Simulation {
  readonly tracer: Tracer;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** What an injected fault does to this request (POST /admin/faults); drawn once per step of work. */
  readonly injectedFault: () => FaultEffect;
}

/**
 * One step of simulated work: waits `latencyMs`, plus whatever an injected fault adds (recorded on `span`, so the
 * trace says why it was slow), and throws if the fault makes it fail.
 */
export async function work(simulation: Simulation, span: Span, latencyMs: number): Promise<void> {
  const fault = simulation.injectedFault();
  if (fault.addedLatencyMs > 0) span.setAttribute(ATTR_FAULT_ADDED_LATENCY_MS, fault.addedLatencyMs);
  await wait(latencyMs + fault.addedLatencyMs);
  if (fault.fails) throw new InjectedFaultError('fault injected by the fault switch');
}

export const wait = (milliseconds: number): Promise<void> => (milliseconds > 0 ? sleep(milliseconds) : Promise.resolve());

/**
 * Runs `work` inside a child span of the active span, recording the exception if it throws and ending the span
 * either way. `options` sets the span's kind and the attributes known at its start (a sampler sees those).
 */
export function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
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
