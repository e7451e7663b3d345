// The load script and the exemplars command against the real service and a real Prometheus.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadSummary } from '../scripts/load.ts';
import type { ListedExemplar } from '../scripts/exemplars.ts';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { Program } from '../harness/process.ts';
import { Prometheus } from '../harness/prometheus.ts';
import { runNode, type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';
import { FaultSwitchClient } from '../scripts/fault-switch.ts';

const TOKEN = 'scripts-test-admin-token';

describe('load script and exemplars command', () => {
  let receiver: OtlpReceiver;
  let service: ServiceProcess;
  let stopService: () => Promise<void>;
  let prometheus: Prometheus;
  let summary: LoadSummary;
  let exposition: string;

  before(async () => {
    ({ service, receiver, stop: stopService } = await startServiceWithReceiver({
      ADMIN_TOKEN: TOKEN,
      USERS_BASE_LATENCY_MS: '5',
      USERS_SLOW_PROBABILITY: '0.1',
      USERS_SLOW_LATENCY_MS: '150',
      PAYMENT_SLOW_PROBABILITY: '0.1',
      PAYMENT_SLOW_LATENCY_MS: '250',
      PAYMENT_FAILURE_PROBABILITY: '0.05',
      EXEMPLAR_POLICY: 'threshold',
      EXEMPLAR_THRESHOLD_MS: '100',
    }));
    prometheus = await Prometheus.start({ target: new URL(service.baseUrl).host });
    const load = await runNode(
      ['scripts/load.ts', '--base-url', service.baseUrl, '--duration', '4', '--rate', '60', '--concurrency', '4', '--spike-start', '1', '--spike-duration', '1.5', '--spike-latency-ms', '300', '--admin-token', TOKEN, '--slowest', '5', '--json'],
      {},
    );
    assert.equal(load.code, 0, load.output);
    summary = JSON.parse(load.stdout) as LoadSummary;
    exposition = await (await fetch(`${service.baseUrl}/metrics`)).text();
    await prometheus.waitForScrapes(2);
  });
  after(async () => {
    await prometheus.stop();
    await stopService();
  });

  const counted = (metric: string, route: string, filter = '') =>
    exposition
      .split('\n')
      .filter((line) => line.startsWith(`${metric}{`) && line.includes(`route="${route}"`) && line.includes(filter))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);

  it('counts what the service counted, per route', () => {
    assert.ok(summary.requests > 100, `${summary.requests} requests`);
    for (const route of summary.routes) {
      assert.equal(route.count, counted('http_requests_total', route.route), `${route.route} requests`);
      assert.equal(route.errors, counted('http_errors_total', route.route), `${route.route} errors`);
      assert.ok(route.p50Seconds <= route.p95Seconds && route.p95Seconds <= route.p99Seconds);
    }
  });

  it('spiked through the fault switch, which is off again afterwards', async () => {
    assert.equal(summary.faultSwitchUsed, true);
    assert.ok(summary.slowest[0]!.seconds >= 0.3, 'the fault added 300 ms to some requests');
    assert.deepEqual(await new FaultSwitchClient(service.baseUrl, TOKEN).state(), { active: false });
  });

  it('names the slowest requests by traces the service exported, with links', async () => {
    assert.equal(summary.slowest.length, 5);
    const seconds = summary.slowest.map((slow) => slow.seconds);
    assert.deepEqual(seconds, [...seconds].sort((a, b) => b - a));
    await receiver.waitFor((spans) => summary.slowest.every((slow) => spans.some((span) => span.traceId === slow.traceId)));
    for (const slow of summary.slowest) {
      assert.match(slow.grafanaUrl ?? 'none', new RegExp(`^http://localhost:3000/explore\\?.*${slow.traceId}`));
      assert.equal(slow.tempoUrl, `http://localhost:3200/api/traces/${slow.traceId}`);
    }
  });

  it('sent baggage that the service turned into span attributes', () => {
    const server = receiver.serverSpans();
    assert.ok(server.some((span) => String(span.attributes['user.id']).startsWith('load-user-') && span.attributes['app.region'] !== undefined));
  });

  it('lists the slowest exemplars from Prometheus, each an exported trace', async () => {
    const result = await runNode(['scripts/exemplars.ts', '--prometheus-url', prometheus.url, '--json', '--limit', '5'], {});
    assert.equal(result.code, 0, result.output);
    const exemplars = JSON.parse(result.stdout) as ListedExemplar[];
    assert.ok(exemplars.length > 0);
    assert.deepEqual(exemplars.map((e) => e.seconds), exemplars.map((e) => e.seconds).sort((a, b) => b - a));
    assert.ok(exemplars[0]!.seconds >= 0.1, 'the threshold policy only marks requests of 100 ms and more');
    const exported = new Set(receiver.spans.map((span) => span.traceId));
    for (const exemplar of exemplars) assert.ok(exported.has(exemplar.traceId), exemplar.traceId);
  });

  it('filters by route, dropping the other routes\' exemplars, and prints them as a readable list', async () => {
    const listed = async (...flags: string[]) => {
      const result = await runNode(['scripts/exemplars.ts', '--prometheus-url', prometheus.url, '--limit', '1000', ...flags], {});
      assert.equal(result.code, 0, result.output);
      return result.stdout;
    };
    const routesOf = (exemplars: ListedExemplar[]) => new Set(exemplars.map((exemplar) => exemplar.route));
    const all = JSON.parse(await listed('--json')) as ListedExemplar[];
    assert.deepEqual(routesOf(all), new Set(['/api/users', '/api/orders']), 'unfiltered, both routes have exemplars');
    const users = JSON.parse(await listed('--json', '--route', '/api/users')) as ListedExemplar[];
    assert.deepEqual(routesOf(users), new Set(['/api/users']));
    assert.deepEqual(users, all.filter((exemplar) => exemplar.route === '/api/users'));

    const text = await listed('--route', '/api/users');
    assert.match(text, new RegExp(`^The ${users.length} slowest exemplars of the last 15 minutes:`));
    for (const exemplar of users) {
      assert.match(text, new RegExp(`^ +[0-9]+ ms  /api/users +${exemplar.time}  trace ${exemplar.traceId}$`, 'm'));
      assert.ok(text.includes(`Grafana: ${exemplar.grafanaUrl}`) && text.includes(`Tempo:   ${exemplar.tempoUrl}`), exemplar.traceId);
    }
  });

  it('says when Prometheus is unreachable', async () => {
    const result = await runNode(['scripts/exemplars.ts', '--prometheus-url', 'http://127.0.0.1:9'], {});
    assert.equal(result.code, 3);
    assert.match(result.stderr, /Prometheus is unreachable at http:\/\/127\.0\.0\.1:9/);
  });

  it('says when exemplar storage is off', async () => {
    const plain = await Prometheus.start({ target: new URL(service.baseUrl).host, exemplarStorage: false });
    try {
      const result = await runNode(['scripts/exemplars.ts', '--prometheus-url', plain.url], {});
      assert.equal(result.code, 4);
      assert.match(result.stderr, /exemplar storage is off .*--enable-feature=exemplar-storage/);
    } finally {
      await plain.stop();
    }
  });

  it('ends cleanly on Ctrl-C (SIGINT) with the summary so far', async () => {
    const load = new Program('load', process.execPath, ['scripts/load.ts', '--base-url', service.baseUrl, '--duration', '60', '--rate', '50']);
    await sleep(1500);
    const interruptedAt = Date.now();
    load.signal('SIGINT');
    const { code } = await load.exit;
    assert.equal(code, 0);
    assert.ok(Date.now() - interruptedAt < 5000, 'stops at once, not after its 60 s');
    assert.match(load.output, /^\d+ requests in \d+\.\d s/m);
    assert.match(load.output, /^\/api\/users\s+\d+/m);
  });

  it('rejects a bad flag with the usage', async () => {
    const result = await runNode(['scripts/load.ts', '--rate', 'fast'], {});
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--rate must be a number/);
    assert.match(result.stderr, /usage: npm run load/);
  });
});
