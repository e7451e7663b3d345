// The real service exporting to a real OTLP/gRPC receiver that crashes and comes back: /metrics shows only the
// exemplars whose spans were exported, while export fails the service attaches none (each would open "trace not
// found") and says so on /metrics and in its log; once an export gets through, exemplars come back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../harness/eventually.ts';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';
import { traceIdOf } from '../scripts/server-timing.ts';

describe('exemplars while span export fails', () => {
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

  async function scrape(): Promise<{ enabled: number; exemplarTraces: Set<string> }> {
    const body = await (await fetch(`${service.baseUrl}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    return {
      enabled: Number(/^exemplars_enabled (\d)/m.exec(body)?.[1]),
      exemplarTraces: new Set([...body.matchAll(/trace_id="([0-9a-f]{32})"/g)].map((match) => match[1]!)),
    };
  }

  /** Scrapes until the trace shows as an exemplar (its export acknowledged); fails after `timeoutMs`. */
  async function shownAsExemplar(traceId: string, timeoutMs = 5000): Promise<boolean> {
    return (await eventually(async () => (await scrape()).exemplarTraces.has(traceId) || undefined, { timeoutMs, intervalMs: 100 })) === true;
  }

  /** Sends requests until the gauge reads `value`; fails after `timeoutMs`. */
  async function requestUntilEnabledIs(value: number, timeoutMs: number): Promise<void> {
    const enabled = async () => {
      if ((await scrape()).enabled === value) return true;
      await request();
      return undefined;
    };
    if ((await eventually(enabled, { timeoutMs, intervalMs: 100 })) === undefined) throw new Error(`exemplars_enabled did not become ${value} within ${timeoutMs} ms`);
  }

  it('attaches exemplars while export works, none while the collector is down, and again once it is back', async () => {
    const healthy = await request();
    assert.ok(await shownAsExemplar(healthy), 'an exported request is an exemplar');
    let state = await scrape();
    assert.equal(state.enabled, 1);

    receiver.kill();
    // Made before the service can know the receiver is gone: attached, but never shown, as their spans are lost.
    const unnoticed = await Promise.all(Array.from({ length: 5 }, request));
    await requestUntilEnabledIs(0, 15_000);
    const duringOutage = await Promise.all(Array.from({ length: 20 }, request));
    state = await scrape();
    assert.equal(state.enabled, 0);
    assert.deepEqual([...unnoticed, ...duringOutage].filter((traceId) => state.exemplarTraces.has(traceId)), [], 'none of these requests is an exemplar');
    const received = new Set(receiver.spans.map((span) => span.traceId));
    assert.deepEqual([...state.exemplarTraces].filter((traceId) => !received.has(traceId)), [], 'no exemplar points at a span the receiver did not get');
    assert.ok(service.logs.some((line) => line.level === 'warn' && String(line.msg).startsWith('exemplars paused')));

    await receiver.restart();
    await requestUntilEnabledIs(1, 30_000);
    assert.ok(await shownAsExemplar(await request()), 'exemplars are back');
    assert.ok(service.logs.some((line) => line.level === 'info' && line.msg === 'exemplars resumed: a span export succeeded'));
  });
});
