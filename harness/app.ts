// The service in-process (Hono's `app.request()`, no socket), assembled by src/service.ts as in production, with only
// what a test swaps: an in-memory span exporter (behind the same exemplar rule as the OTLP one), a log destination
// the test reads, and optionally a sampler, an exemplar policy or a fault switch with its own clock.
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, type ExportResult, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, type Sampler, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.ts';
import type { FaultSwitch } from '../src/domain/faults.ts';
import { createService } from '../src/service.ts';
import { AcceptedSpans } from '../src/telemetry/accepted-spans.ts';
import type { ExemplarPolicy } from '../src/telemetry/exemplar-policy.ts';
import { FAST_ENV } from './fast-path.ts';

// What the SDK sets up in the service: a context manager (child spans nest under the server span) and W3C propagation.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));

export function testApp(options: { env?: Record<string, string>; sampler?: Sampler; exemplarPolicy?: ExemplarPolicy; faults?: FaultSwitch } = {}) {
  const config = loadConfig({ ...FAST_ENV, ...options.env });
  const exporter = new AcknowledgingExporter();
  const acceptedSpans = new AcceptedSpans();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: acceptedSpans.watch(exporter) })],
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
  });
  const logLines: Record<string, unknown>[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  const tracing = { running: { acceptedSpans, logExportFailuresTo: () => {} } };
  const service = createService(config, tracing, {
    tracer: tracerProvider.getTracer('test'),
    logDestination,
    processMetrics: false,
    ...(options.exemplarPolicy === undefined ? {} : { exemplarPolicy: options.exemplarPolicy }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  return { ...service, config, exporter, logLines };
}

/**
 * The in-memory exporter, acknowledging a span as it takes it, as a Collector that is up does before the next scrape
 * (the stock one answers a timer tick later, after the test's scrape).
 */
class AcknowledgingExporter extends InMemorySpanExporter {
  override export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    super.export(spans, () => {});
    done({ code: ExportResultCode.SUCCESS });
  }
}


export const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5';

export async function scrape(app: ReturnType<typeof testApp>['app'], accept = OPENMETRICS_ACCEPT): Promise<string> {
  return (await app.request('/metrics', { headers: { accept } })).text();
}
