// The test receiver's two modes against the same export from the real OTLP/gRPC exporter: count mode, which skips
// through the protobuf without decoding a span, must count exactly the spans decode mode decodes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OtlpReceiver } from '../harness/otlp-receiver.ts';

/** Ended spans of one service: `count` spans from each named scope, with the fields a count must step over. */
function spansOf(service: string, scopes: Record<string, number>): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  for (const [scope, count] of Object.entries(scopes)) {
    // A schema URL is one more length-delimited field beside the spans of a scope.
    const tracer = provider.getTracer(scope, '1.0.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
    for (let i = 0; i < count; i += 1) {
      const span = tracer.startSpan(`${scope} ${i}`, { attributes: { index: i, 'http.route': '/api/users' } });
      span.addEvent('an event', { detail: 'x'.repeat(200) });
      span.end();
    }
  }
  return memory.getFinishedSpans();
}

async function exportTo(receiver: OtlpReceiver, spans: ReadableSpan[]): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: receiver.address });
  const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
}

describe('OTLP test receiver', () => {
  let decoding: OtlpReceiver;
  let counting: OtlpReceiver;
  before(async () => {
    decoding = await OtlpReceiver.start('127.0.0.1', 0, 'decode');
    counting = await OtlpReceiver.start('127.0.0.1', 0, 'count');
  });
  after(async () => {
    await decoding.stop();
    await counting.stop();
  });

  it('counts in count mode exactly the spans decode mode decodes, across resources and scopes', async () => {
    // One request of two resources with two scopes each: 3 + 5 + 7 + 11 spans, so no partial walk adds up to it.
    const spans = [...spansOf('checkout', { http: 3, db: 5 }), ...spansOf('payments', { http: 7, grpc: 11 })];
    await exportTo(decoding, spans);
    await exportTo(counting, spans);
    assert.equal(decoding.spans.length, 26);
    assert.equal(decoding.received, 26);
    assert.equal(counting.received, decoding.received);
    assert.deepEqual(counting.spans, [], 'count mode keeps no span');
  });
});
