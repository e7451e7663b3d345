// SIGTERM while a slow request is in flight: the request completes, its spans are flushed, the exit code is 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';
import { traceIdOf } from '../scripts/server-timing.ts';

/** Runs `test` against the service exporting to a fresh receiver, and stops both whatever happens. */
async function withService(env: Record<string, string>, test: (service: ServiceProcess, receiver: OtlpReceiver) => Promise<void>): Promise<void> {
  const { service, receiver, stop } = await startServiceWithReceiver(env);
  try {
    await test(service, receiver);
  } finally {
    await stop();
  }
}

describe('graceful shutdown', () => {
  it('finishes the in-flight request, refuses new ones, flushes its spans and exits 0', async () => {
    await withService({ USERS_SLOW_PROBABILITY: '1', USERS_SLOW_LATENCY_MS: '1500' }, async (service, receiver) => {
      const inFlight = fetch(`${service.baseUrl}/api/users`);
      await sleep(300);
      service.signal('SIGTERM');
      await sleep(100);
      await assert.rejects(fetch(`${service.baseUrl}/health`, { headers: { connection: 'close' } }), 'new connections are refused');

      const response = await inFlight;
      assert.equal(response.status, 200);
      const traceId = traceIdOf(response);
      assert.ok(traceId, 'server-timing names the trace');
      await response.arrayBuffer();

      const { code } = await service.exit;
      assert.equal(code, 0);
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      assert.deepEqual(spans.map((span) => span.name).sort(), ['GET /api/users', 'SELECT users']);
    });
  });

  it('under load: every in-flight request succeeds and every finished span reaches the receiver', async () => {
    await withService({ USERS_BASE_LATENCY_MS: '1500', PAYMENT_LATENCY_MS: '1500' }, async (service, receiver) => {
      // 64 requests in flight (1.5 s each), half on each route, when SIGTERM arrives. They get 750 ms to reach the
      // server first: a connection that has sent no request yet is idle, and closing idle connections is part of a
      // graceful close (with 100 ms, a loaded machine sometimes had not sent one of them yet).
      const inFlight = Array.from({ length: 64 }, (_, i) =>
        fetch(`${service.baseUrl}/api/${i % 2 === 0 ? 'users' : 'orders'}`).then(
          async (response) => ({ status: response.status, trace: traceIdOf(response), body: await response.text() }),
          (error: Error) => ({ status: 0, trace: undefined, body: error.message }),
        ),
      );
      await sleep(750);
      service.signal('SIGTERM');
      const signalledAt = Date.now();
      const results = await Promise.all(inFlight);
      const { code } = await service.exit;
      assert.equal(code, 0);
      assert.ok(Date.now() - signalledAt < 10_000, 'within SHUTDOWN_TIMEOUT_MS');
      assert.deepEqual(results.filter((result) => result.status !== 200), [], 'no in-flight request failed');

      // users: server span + query span; orders: server span + fetchOrders + checkPaymentStatus.
      const expected = results.reduce((sum, _, i) => sum + (i % 2 === 0 ? 2 : 3), 0);
      const traces = new Set(results.map((result) => result.trace));
      const exported = receiver.spans.filter((span) => traces.has(span.traceId)).length;
      console.log(`shutdown under load: ${results.length} in-flight requests completed, ${exported} of ${expected} finished spans exported`);
      assert.equal(exported, expected);
    });
  });

  it('closes requests still open at SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    await withService({ USERS_SLOW_PROBABILITY: '1', USERS_SLOW_LATENCY_MS: '30000', SHUTDOWN_TIMEOUT_MS: '500' }, async (service) => {
      const inFlight = fetch(`${service.baseUrl}/api/users`).then(
        (response) => response.status,
        () => 'closed',
      );
      await sleep(200);
      const signalledAt = Date.now();
      service.signal('SIGTERM');
      const { code } = await service.exit;
      assert.equal(code, 0);
      assert.ok(Date.now() - signalledAt < 10_000, 'exits long before the 30 s request would have ended');
      assert.equal(await inFlight, 'closed');
      assert.ok(service.logs.some((line) => line.msg === 'in-flight requests still open at the timeout: closing them'));
    });
  });
});
