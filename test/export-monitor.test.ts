import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ExportedSpans, ExportHealth, MonitoredExporter } from '../src/telemetry/export-monitor.ts';
import { createLogger } from '../src/telemetry/logger.ts';

/** An exporter whose outcome the test sets: it stands for the OTLP exporter, which is tested for real elsewhere. */
class ScriptedExporter implements SpanExporter {
  succeed = false;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(this.succeed ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('14 UNAVAILABLE: No connection established') });
  }
  shutdown = async () => {};
}

/** A logger whose JSON lines the test reads. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('export health (the exemplar gate)', () => {
  it('closes when an export fails and opens again when one succeeds, logging each change once', () => {
    const { lines, logger } = capturedLogger();
    const inner = new ScriptedExporter();
    const health = new ExportHealth(logger, { maxQueueSize: 100 });
    const exporter = new MonitoredExporter(inner, logger, { health, warnEveryMs: 0 });
    assert.equal(health.healthy, true, 'healthy before the first export');
    exporter.export([{}] as ReadableSpan[], () => {});
    assert.equal(health.healthy, false);
    exporter.export([{}] as ReadableSpan[], () => {});
    assert.equal(health.healthy, false);
    inner.succeed = true;
    exporter.export([{}] as ReadableSpan[], () => {});
    assert.equal(health.healthy, true);
    const changes = lines.filter((line) => String(line.msg).startsWith('exemplars '));
    assert.deepEqual(changes.map((line) => [line.level, line.msg]), [
      ['warn', 'exemplars paused: span export is failing, so no exemplar points at a trace that cannot arrive'],
      ['info', 'exemplars resumed: a span export succeeded'],
    ]);
    assert.match(String(changes[0]!.reason), /export failed: 14 UNAVAILABLE/);
  });

  it('closes while an export has been in flight longer than the stall limit (the exporter still retrying)', () => {
    const { logger } = capturedLogger();
    let now = 0;
    const health = new ExportHealth(logger, { maxQueueSize: 100, stallMs: 1000, now: () => now });
    const finished = health.exportStarted(10);
    now = 1000;
    assert.equal(health.healthy, true, 'at the limit');
    now = 1001;
    assert.equal(health.healthy, false, 'past it');
    finished(true);
    assert.equal(health.healthy, true, 'the retry got through');
  });

  it('doubts the exemplars made between the last good batch and the return of health', () => {
    const { logger } = capturedLogger();
    let now = 1000;
    const health = new ExportHealth(logger, { maxQueueSize: 100, stallMs: 1000, now: () => now });
    health.exportStarted(1)(true); // a good batch taken at 1000
    now = 2000;
    const failing = health.exportStarted(1); // taken at 2000, will fail
    now = 3500;
    assert.equal(health.healthy, false, 'noticed at 3500: stalled');
    assert.deepEqual([999, 1000, 1001, 3500, 9000].map((ms) => health.doubts(ms)), [false, false, true, true, true]);
    failing(false);
    now = 9000;
    health.exportStarted(1)(true);
    assert.equal(health.healthy, true);
    assert.deepEqual([1001, 9000, 9001].map((ms) => health.doubts(ms)), [true, true, false], 'the doubt ends when health returns');
  });

  it('closes when the batch queue drops a span, as BatchSpanProcessor does when full, until an export succeeds', () => {
    const { logger } = capturedLogger();
    const health = new ExportHealth(logger, { maxQueueSize: 3 });
    for (let i = 0; i < 3; i += 1) health.spanEnded();
    assert.equal(health.healthy, true, 'full, nothing dropped yet');
    health.spanEnded();
    assert.equal(health.healthy, false, 'the fourth span is dropped');
    const finished = health.exportStarted(3);
    assert.equal(health.healthy, false, 'taking spans off the queue is not yet success');
    finished(true);
    assert.equal(health.healthy, true);
    for (let i = 0; i < 3; i += 1) health.spanEnded();
    assert.equal(health.healthy, true, 'the queue had room again');
  });
});

describe('exported spans (what /metrics may show an exemplar for)', () => {
  const span = (spanId: string, exemplar: boolean) => ({ attributes: exemplar ? { exemplar: true } : {}, spanContext: () => ({ spanId }) }) as unknown as ReadableSpan;

  it('holds the exemplar-marked spans of successful exports only', () => {
    const { logger } = capturedLogger();
    const inner = new ScriptedExporter();
    const exported = new ExportedSpans();
    const exporter = new MonitoredExporter(inner, logger, { exported });
    exporter.export([span('1', true)], () => {});
    inner.succeed = true;
    exporter.export([span('2', true), span('3', false)], () => {});
    assert.deepEqual(['1', '2', '3'].map((id) => exported.has(id)), [false, true, false]);
  });

  it('forgets the oldest beyond its capacity', () => {
    const exported = new ExportedSpans(2);
    exported.add(['a', 'b', 'c'].map((id) => span(id, true)));
    assert.deepEqual(['a', 'b', 'c'].map((id) => exported.has(id)), [false, true, true]);
  });
});

describe('span export monitor', () => {
  it('warns at most once per interval while export fails, and says when it resumes', () => {
    const { lines, logger } = capturedLogger();
    let now = 0;
    const inner = new ScriptedExporter();
    const exporter = new MonitoredExporter(inner, logger, { warnEveryMs: 30_000, now: () => now });
    const spans = [{}, {}] as ReadableSpan[];
    const results: ExportResultCode[] = [];
    for (let second = 0; second < 65; second += 1) {
      now = second * 1000;
      exporter.export(spans, (result) => results.push(result.code));
    }
    assert.ok(results.every((code) => code === ExportResultCode.FAILED), 'the result reaches the span processor unchanged');
    const warnings = lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 3, '65 failures over 65 s: warnings at 0, 30 and 60 s');
    assert.equal(warnings[2]!.failed_exports, 61);
    assert.equal(warnings[2]!.dropped_spans, 122);
    assert.match(String(warnings[0]!.error), /UNAVAILABLE/);

    inner.succeed = true;
    exporter.export(spans, () => {});
    exporter.export(spans, () => {});
    const resumed = lines.filter((line) => line.msg === 'span export resumed');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.failed_exports, 65);
  });
});
