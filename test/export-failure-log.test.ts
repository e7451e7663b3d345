import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ExportFailureLog } from '../src/telemetry/export-failure-log.ts';
import { createLogger } from '../src/telemetry/logger.ts';

/** An exporter whose outcome the test sets: it stands for the OTLP exporter, which is tested for real elsewhere. */
class ScriptedExporter implements SpanExporter {
  succeed = false;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(this.succeed ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('14 UNAVAILABLE: No connection established') });
  }
  shutdown = async () => {};
}

describe('span export failure log', () => {
  it('warns at most once per interval while export fails, and says when it resumes', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    let now = 0;
    const inner = new ScriptedExporter();
    const exporter = new ExportFailureLog(inner, { warnEveryMs: 30_000, now: () => now });
    exporter.logger = createLogger({ level: 'info', destination });
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
