// The app in-process (Hono's `app.request()`, no socket) with an in-memory span exporter and a fresh registry per
// test, for the tests that look at one request at a time.
import { context, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type Sampler, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.ts';
import type { FaultSwitch } from '../src/domain/faults.ts';
import { createApp } from '../src/http/app.ts';
import { createExemplarPolicy, type ExemplarPolicy } from '../src/telemetry/exemplar-policy.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { RequestMetrics } from '../src/telemetry/metrics.ts';
import { FAST_ENV } from './fast-path.ts';

// Child spans nest under the server span only with a context manager; the service gets one from the SDK.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const propagator: TextMapPropagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

export function testApp(
  options: { env?: Record<string, string>; sampler?: Sampler; exemplarPolicy?: ExemplarPolicy; faults?: FaultSwitch; isReady?: () => boolean } = {},
) {
  const config = loadConfig({ ...FAST_ENV, ...options.env });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
  });
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  const metrics = new RequestMetrics({ regions: config.metricRegions, processMetrics: false });
  const app = createApp({
    settings: config,
    tracer: tracerProvider.getTracer('test'),
    propagator,
    metrics,
    exemplarPolicy: options.exemplarPolicy ?? createExemplarPolicy(config.exemplars),
    logger: createLogger({ level: 'info', destination }),
    isReady: options.isReady ?? (() => true),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  return { app, config, exporter, metrics, logLines };
}

export const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5';

export async function scrape(app: ReturnType<typeof testApp>['app'], accept = OPENMETRICS_ACCEPT): Promise<string> {
  return (await app.request('/metrics', { headers: { accept } })).text();
}
