// OTEL_EXPORTER_OTLP_PROTOCOL end to end: the service exports to the real Collector over each transport, and the
// Collector's own metrics show every span and every log record arriving on that transport and none on the other.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CountingCollector } from '../harness/collector.ts';
import { FAST_ENV } from '../harness/fast-path.ts';
import { ServiceProcess } from '../harness/service.ts';

const REQUESTS = 20;

describe('OTLP protocol (service to the real Collector)', () => {
  let collector: CountingCollector;
  before(async () => {
    collector = await CountingCollector.start();
  });
  after(() => collector.stop());

  for (const [protocol, transport, other] of [
    ['grpc', 'grpc', 'http'],
    ['http/protobuf', 'http', 'grpc'],
  ] as const) {
    it(`${protocol}: every span and log record arrives over ${transport}`, async () => {
      const before = await collector.acceptedSpans();
      const logsBefore = await collector.acceptedLogRecords();
      const service = await ServiceProcess.start({
        ...FAST_ENV,
        // Every request writes the slow-request warning, so each one makes a log record too.
        SLOW_REQUEST_THRESHOLD_MS: '0',
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT: transport === 'grpc' ? collector.grpcEndpoint : collector.httpEndpoint,
      });
      for (let i = 0; i < REQUESTS; i += 1) await (await fetch(`${service.baseUrl}/api/users`)).arrayBuffer();
      // Shutdown flushes the batch processor, so every span has been sent once the service has exited.
      assert.equal((await service.stop()).code, 0);
      let now = await collector.acceptedSpans();
      for (let tries = 0; now[transport] - before[transport] < 2 * REQUESTS && tries < 50; tries += 1) {
        await sleep(100);
        now = await collector.acceptedSpans();
      }
      // Each /api/users request is a SERVER span and its database CLIENT span.
      assert.equal(now[transport] - before[transport], 2 * REQUESTS);
      assert.equal(now[other], before[other], `nothing arrives over ${other}`);
      // Every line on stdout but the last, written after the SDK has shut down ('spans flushed; bye').
      const logs = await collector.acceptedLogRecords();
      assert.equal(logs[transport] - logsBefore[transport], service.logs.length - 1, `log records over ${transport}`);
      assert.equal(logs[other], logsBefore[other], `no log record over ${other}`);
      const failures = service.logs.filter((line) => (line.level === 'warn' || line.level === 'error') && line.msg !== 'slow request');
      assert.deepEqual(failures, [], 'no export failure logged');
    });
  }
});
