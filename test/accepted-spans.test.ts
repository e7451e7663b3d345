// The no-dangling rule (src/telemetry/accepted-spans.ts): an exemplar is shown once the Collector has accepted its
// span. First the rule on its own, then the running service exporting to a receiver that crashes and comes back.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../harness/eventually.ts';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';
import { traceIdOf } from '../scripts/server-timing.ts';
import { AcceptedSpans } from '../src/telemetry/accepted-spans.ts';
import { RequestMetrics } from '../src/telemetry/metrics.ts';

/** An exporter whose outcome the test sets: it stands for the OTLP exporter, which is tested for real below. */
class ScriptedExporter implements SpanExporter {
  succeed = false;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(this.succeed ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('14 UNAVAILABLE') });
  }
  shutdown = async () => {};
}

const span = (spanId: string, exemplar = true) => ({ attributes: exemplar ? { exemplar: true } : {}, spanContext: () => ({ spanId }) }) as unknown as ReadableSpan;

describe('accepted spans (the rule on its own)', () => {
  it('shows the exemplar-marked spans of successful exports only', () => {
    const inner = new ScriptedExporter();
    const accepted = new AcceptedSpans();
    const exporter = accepted.watch(inner);
    const results: ExportResultCode[] = [];
    exporter.export([span('1')], (result) => results.push(result.code));
    inner.succeed = true;
    exporter.export([span('2'), span('3', false)], (result) => results.push(result.code));
    assert.deepEqual(['1', '2', '3'].map((id) => accepted.shows(id)), [false, true, false]);
    assert.deepEqual(results, [ExportResultCode.FAILED, ExportResultCode.SUCCESS], 'the result reaches the span processor unchanged');
  });

  it('waits the hold after acceptance before showing one', () => {
    let now = 1000;
    const inner = new ScriptedExporter();
    inner.succeed = true;
    const accepted = new AcceptedSpans({ holdMs: 2000, now: () => now });
    accepted.watch(inner).export([span('a')], () => {});
    now = 2999;
    assert.equal(accepted.shows('a'), false);
    now = 3000;
    assert.equal(accepted.shows('a'), true);
  });

  it('forgets the oldest beyond its capacity', () => {
    const inner = new ScriptedExporter();
    inner.succeed = true;
    const accepted = new AcceptedSpans({ capacity: 2 });
    accepted.watch(inner).export(['a', 'b', 'c'].map((id) => span(id)), () => {});
    assert.deepEqual(['a', 'b', 'c'].map((id) => accepted.shows(id)), [false, true, true]);
  });

  it('leaves an exemplar out of the scrape until its span is accepted, keeping the sample and the stored exemplar', async () => {
    const inner = new ScriptedExporter();
    const accepted = new AcceptedSpans();
    const metrics = new RequestMetrics({ regions: [], processMetrics: false, acceptedSpans: accepted });
    const exemplar = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) };
    metrics.record({ method: 'GET', route: '/api/users', statusCode: 200, durationSeconds: 0.3, exemplar });
    const bucket = (body: string) => body.split('\n').find((line) => line.startsWith('http_request_duration_seconds_bucket{le="0.5"'))!;

    const hidden = (await metrics.render('application/openmetrics-text')).body;
    assert.match(bucket(hidden), /^http_request_duration_seconds_bucket\{[^}]*\} 1$/, 'the count, without the exemplar');
    assert.doesNotMatch(hidden, /trace_id=/);

    inner.succeed = true;
    accepted.watch(inner).export([span(exemplar.span_id)], () => {});
    const shown = (await metrics.render('application/openmetrics-text')).body;
    assert.match(bucket(shown), / 1 # \{trace_id="a{32}",span_id="b{16}"\} 0\.3 \d+(\.\d+)?$/, 'the same exemplar, with its own timestamp');
    assert.equal(shown.split('\n').filter((line) => line.includes(' # {')).length, 2, 'the histogram bucket and the request counter');
  });

  it('shows an exemplar the scrape left out once its span is accepted, even if a newer one replaced it meanwhile', async () => {
    const inner = new ScriptedExporter();
    inner.succeed = true;
    const accepted = new AcceptedSpans();
    const metrics = new RequestMetrics({ regions: [], processMetrics: false, acceptedSpans: accepted });
    const record = (spanId: string) => metrics.record({ method: 'GET', route: '/', statusCode: 200, durationSeconds: 0.3, exemplar: { trace_id: 'a'.repeat(32), span_id: spanId } });
    const shownSpan = async () => /le="0\.5"[^\n]*span_id="([0-9a-f]+)"/.exec((await metrics.render('application/openmetrics-text')).body)?.[1];
    record('1'.repeat(16));
    assert.equal(await shownSpan(), undefined, 'not accepted yet');
    record('2'.repeat(16));
    accepted.watch(inner).export([span('1'.repeat(16))], () => {});
    assert.equal(await shownSpan(), '1'.repeat(16), 'the one left out last time, now accepted');
    assert.equal(await shownSpan(), undefined, 'shown once; the newer one waits for its span');
    accepted.watch(inner).export([span('2'.repeat(16))], () => {});
    assert.equal(await shownSpan(), '2'.repeat(16));

    // Both accepted by the next scrape: the older first (its scrape interval), the newer one a scrape later.
    record('3'.repeat(16));
    assert.equal(await shownSpan(), undefined);
    record('4'.repeat(16));
    accepted.watch(inner).export([span('3'.repeat(16)), span('4'.repeat(16))], () => {});
    assert.deepEqual([await shownSpan(), await shownSpan()], ['3'.repeat(16), '4'.repeat(16)]);
  });
});

describe('the running service while span export fails', () => {
  let receiver: OtlpReceiver;
  let service: ServiceProcess;
  let stop: () => Promise<void>;

  before(async () => {
    ({ service, receiver, stop } = await startServiceWithReceiver({ EXEMPLAR_POLICY: 'always' }));
  });
  after(() => stop());

  /** One request; its trace ID, from the server-timing header. */
  async function request(): Promise<string> {
    const response = await fetch(`${service.baseUrl}/api/users`);
    await response.arrayBuffer();
    const traceId = traceIdOf(response);
    assert.ok(traceId, 'server-timing names the trace');
    return traceId;
  }

  async function exemplarTraces(): Promise<Set<string>> {
    const body = await (await fetch(`${service.baseUrl}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    return new Set([...body.matchAll(/trace_id="([0-9a-f]{32})"/g)].map((match) => match[1]!));
  }

  /** Scrapes until the trace shows as an exemplar (its export acknowledged); false after `timeoutMs`. */
  async function shownAsExemplar(traceId: string, timeoutMs = 5000): Promise<boolean> {
    return (await eventually(async () => (await exemplarTraces()).has(traceId) || undefined, { timeoutMs, intervalMs: 100 })) === true;
  }

  it('never shows the exemplar of a span the receiver did not get, and shows new ones once it is back', async () => {
    assert.ok(await shownAsExemplar(await request()), 'an exported request is an exemplar');

    receiver.kill();
    const duringOutage = await Promise.all(Array.from({ length: 20 }, request));
    // Long enough for the exports of these spans to fail (the OTLP exporter gives up on an unreachable endpoint).
    await service.waitForLine((line) => String(line.msg).startsWith('span export failing'), 20_000);
    const shown = await exemplarTraces();
    assert.deepEqual(duringOutage.filter((traceId) => shown.has(traceId)), [], 'no request made during the outage is an exemplar');
    const received = new Set(receiver.spans.map((span) => span.traceId));
    assert.deepEqual([...shown].filter((traceId) => !received.has(traceId)), [], 'no exemplar points at a span the receiver did not get');

    await receiver.restart();
    // The exporter reconnects on gRPC's backoff, up to tens of seconds after an outage: a request made before that has
    // its span dropped, and rightly never becomes an exemplar. One made after must.
    const back = await eventually(async () => (await shownAsExemplar(await request(), 3000)) || undefined, { timeoutMs: 90_000, intervalMs: 500 });
    assert.equal(back, true, 'exemplars are back');
  });
});
