// The service's log lines as OpenTelemetry log records: what a record carries (the running service, started as the
// image starts it, exporting to the test's OTLP receiver), and what happens to records when export fails (the
// batch processor of src/telemetry/logs.ts with exporters that fail or never answer).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { Writable } from 'node:stream';
import { startServiceWithReceiver } from '../harness/service.ts';
import { traceIdOf } from '../scripts/server-timing.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { boundedLogProcessor, LogLossReport } from '../src/telemetry/logs.ts';

/** Every request writes the slow-request warning. */
const EVERY_REQUEST_SLOW = { SLOW_REQUEST_THRESHOLD_MS: '0' };
/** OTLP's SeverityNumber for WARN. */
const SEVERITY_WARN = 13;

describe('log records (the running service, exporting to an OTLP receiver)', () => {
  it("a line written inside a request becomes a log record with the request's trace and span IDs and the line's fields", async () => {
    const { service, receiver, stop } = await startServiceWithReceiver(EVERY_REQUEST_SLOW);
    try {
      // A query string and a header the line does not hold today: the record must not hold them either.
      const response = await fetch(`${service.baseUrl}/api/users?token=query-secret-1234`, { headers: { authorization: 'Bearer header-secret-5678' } });
      await response.arrayBuffer();
      const traceId = traceIdOf(response)!;
      await receiver.waitForLogRecords((records) => records.some((record) => record.traceId === traceId));
      await receiver.waitFor((spans) => spans.some((span) => span.traceId === traceId && span.kind === 2));
      const record = receiver.logRecords.find((r) => r.traceId === traceId)!;
      const serverSpan = receiver.serverSpans().find((span) => span.traceId === traceId)!;
      const line = service.logs.find((l) => l.trace_id === traceId)!;

      assert.equal(record.spanId, serverSpan.spanId, 'the record names the server span');
      assert.equal(line.msg, 'slow request', 'stdout still has the line');
      assert.deepEqual(
        { body: record.body, severityText: record.severityText, severityNumber: record.severityNumber },
        { body: line.msg, severityText: 'warn', severityNumber: SEVERITY_WARN },
      );
      // The line's own fields, as attributes; level, time and message have fields of the record, the IDs and trace
      // flags too (pino's log correlation writes them in the line).
      const { level: _level, time: _time, msg: _msg, trace_id: _traceId, span_id: _spanId, trace_flags: _traceFlags, ...fields } = line;
      assert.deepEqual(record.attributes, fields);
      assert.equal(record.attributes.route, '/api/users');
      assert.equal(record.resource['service.name'], 'exemplar-demo');
      assert.doesNotMatch(JSON.stringify(record), /secret/, 'no query string or header beyond what the line holds');
    } finally {
      await stop();
    }
  });

  it('with the endpoint refusing every export, every request is answered, the loss is warned once, and export resumes', async () => {
    const { service, receiver, stop } = await startServiceWithReceiver(EVERY_REQUEST_SLOW);
    try {
      receiver.unavailable = true;
      const statuses: number[] = [];
      for (let i = 0; i < 30; i += 1) {
        const response = await fetch(`${service.baseUrl}/api/users`);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      assert.deepEqual(new Set(statuses), new Set([200]));
      // The exporter retries UNAVAILABLE for up to its 10 s timeout before the batch counts as lost.
      const failing = await service.waitForLine((line) => String(line.msg).startsWith('log export failing'), 20_000);
      assert.ok(Number(failing.dropped_log_records) > 0);
      receiver.unavailable = false;
      const response = await fetch(`${service.baseUrl}/api/users`);
      await response.arrayBuffer();
      await receiver.waitForLogRecords((records) => records.some((record) => record.traceId === traceIdOf(response)), 20_000);
      await service.waitForLine((line) => line.msg === 'log export resumed', 5000);
      assert.equal(service.logs.filter((line) => String(line.msg).startsWith('log export failing')).length, 1, 'one warning in the interval');
      assert.equal(service.logs.filter((line) => line.msg === 'slow request').length, 31, 'stdout kept every line');
    } finally {
      await stop();
    }
  });
});

/** An exporter whose exports never answer, as a stuck Collector's would. */
class HangingExporter implements LogRecordExporter {
  exports = 0;
  export(_records: ReadableLogRecord[], _done: (result: ExportResult) => void): void {
    this.exports += 1;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The service's logger writing into `lines`, and a LoggerProvider whose records go through `exporter`'s bounded queue. */
function pipeline(exporter: LogRecordExporter, options: { maxQueueSize?: number; now?: () => number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    }),
  });
  const report = new LogLossReport(logger, { warnEveryMs: 30_000, now: options.now ?? Date.now });
  const provider = new LoggerProvider({ processors: [boundedLogProcessor(exporter, report, options.maxQueueSize)] });
  const otelLogger = provider.getLogger('test');
  return { lines, report, provider, emit: (count: number) => Array.from({ length: count }, (_, i) => otelLogger.emit({ body: `line ${i}` })) };
}

const warnings = (lines: readonly Record<string, unknown>[]) => lines.filter((line) => String(line.msg).startsWith('log export failing'));

describe('log records when export fails (src/telemetry/logs.ts)', () => {
  it('a full queue drops the records that do not fit, counted exactly, and nothing waits for the export', async () => {
    const exporter = new HangingExporter();
    const { lines, report, emit } = pipeline(exporter, { maxQueueSize: 8 });
    // 8 go out in the first batch (which never returns), 8 fill the queue behind it, 5 find it full.
    emit(21);
    await sleep(10);
    assert.equal(exporter.exports, 1);
    assert.deepEqual(report.dropped, { queueFull: 5, exportFailed: 0 });
    assert.equal(warnings(lines).length, 1, 'one warning');
    assert.deepEqual(
      { dropped: warnings(lines)[0]!.dropped_log_records, queueFull: warnings(lines)[0]!.queue_full },
      { dropped: 1, queueFull: 1 },
      'the warning is written at the first loss',
    );
  });

  it('records of failed exports are counted; one warning per interval; one "resumed" line when export succeeds again', async () => {
    let nowMs = 0;
    let failing = true;
    const exporter: LogRecordExporter = {
      export: (_records, done) => done(failing ? { code: ExportResultCode.FAILED, error: new Error('connection refused') } : { code: ExportResultCode.SUCCESS }),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const { lines, report, provider, emit } = pipeline(exporter, { now: () => nowMs });
    emit(3);
    await provider.forceFlush();
    emit(4);
    await provider.forceFlush();
    assert.deepEqual(report.dropped, { queueFull: 0, exportFailed: 7 });
    assert.equal(warnings(lines).length, 1, 'one warning within the interval');
    nowMs += 30_000;
    emit(1);
    await provider.forceFlush();
    assert.equal(warnings(lines).length, 2, 'a second one once the interval has passed');
    assert.equal(warnings(lines)[1]!.dropped_log_records, 8);
    failing = false;
    emit(1);
    await provider.forceFlush();
    assert.deepEqual(
      lines.filter((line) => line.msg === 'log export resumed').map(({ queue_full, failed_exports }) => ({ queue_full, failed_exports })),
      [{ queue_full: 0, failed_exports: 8 }],
    );
    assert.deepEqual(report.dropped, { queueFull: 0, exportFailed: 0 });
  });
});
