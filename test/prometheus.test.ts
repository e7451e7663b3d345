// A real Prometheus (v3, exemplar storage on, OpenMetrics first) scraping the real service under bounded load
// with the slow paths forced, the service exporting to a real OTLP/gRPC receiver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prometheusTargets } from '../scripts/dashboard.ts';
import { Prometheus } from '../harness/prometheus.ts';
import { substituteDashboardVariables } from '../harness/promql.ts';
import { type ServiceProcess, type ServiceWithReceiver, startServiceWithReceiver } from '../harness/service.ts';

interface Stack extends ServiceWithReceiver {
  readonly prometheus: Prometheus;
}

/** Load against both routes in rounds of 30 concurrent requests, a scrape after each round. */
async function drive(service: ServiceProcess, prometheus: Prometheus, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const route = i % 2 === 0 ? 'users' : 'orders';
        const response = await fetch(`${service.baseUrl}/api/${route}?limit=5`);
        await response.arrayBuffer();
      }),
    );
    await prometheus.waitForScrapes(1);
  }
}

/** Receiver, service (with `env`) and Prometheus, after four rounds of load and two more scrapes. */
async function startScrapedStack(env: Record<string, string>): Promise<Stack> {
  const serviceWithReceiver = await startServiceWithReceiver(env);
  const { service } = serviceWithReceiver;
  const prometheus = await Prometheus.start({ target: new URL(service.baseUrl).host, scrapeInterval: '1s' });
  const stack = { ...serviceWithReceiver, prometheus };
  try {
    await drive(service, prometheus, 4);
    await prometheus.waitForScrapes(2);
  } catch (error) {
    await stopStack(stack); // the caller never gets the stack to stop
    throw error;
  }
  return stack;
}

async function stopStack(stack: Stack | undefined): Promise<void> {
  if (stack === undefined) return;
  await stack.prometheus.stop();
  await stack.stop();
}

/** Every exemplar Prometheus stores for the service's three metrics, with its series labels. */
async function storedExemplars(prometheus: Prometheus) {
  const series = await prometheus.queryExemplars('{__name__=~"http_request_duration_seconds_bucket|http_requests_total|http_errors_total"}');
  return series.flatMap((entry) => entry.exemplars.map((exemplar) => ({ series: entry.seriesLabels, ...exemplar })));
}

describe('Prometheus scraping the service', () => {
  describe('every request sampled, slow paths on a third of requests', () => {
    let stack: Stack | undefined;
    before(async () => {
      stack = await startScrapedStack({
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        USERS_SLOW_PROBABILITY: '0.34',
        USERS_SLOW_LATENCY_MS: '300',
        PAYMENT_SLOW_PROBABILITY: '0.34',
        PAYMENT_SLOW_LATENCY_MS: '600',
        // 60 orders requests: at 0.25 the chance of not one failure (no error series to assert on) is 3e-8; at 0.1 it was 2e-3.
        PAYMENT_FAILURE_PROBABILITY: '0.25',
        EXEMPLAR_POLICY: 'threshold',
        EXEMPLAR_THRESHOLD_MS: '250',
      });
    });
    after(() => stopStack(stack));

    it('stores exemplars for both routes, in the slow buckets, and for the error counter', async () => {
      const exemplars = await storedExemplars(stack!.prometheus);
      // Prometheus 3 writes `le` as a float ("1.0"), hence the numeric comparison.
      const has = (predicate: (series: Readonly<Record<string, string>>) => boolean) => exemplars.some((e) => predicate(e.series));
      assert.ok(has((s) => s.__name__ === 'http_request_duration_seconds_bucket' && s.route === '/api/users' && Number(s.le) === 0.5), 'users 0.5 s bucket');
      assert.ok(has((s) => s.__name__ === 'http_request_duration_seconds_bucket' && s.route === '/api/orders' && Number(s.le) === 1), 'orders 1 s bucket');
      assert.ok(has((s) => s.__name__ === 'http_requests_total'), 'request counter');
      assert.ok(has((s) => s.__name__ === 'http_errors_total' && s.error_type === 'PaymentServiceError'), 'error counter');
      for (const exemplar of exemplars) {
        assert.match(exemplar.labels.trace_id ?? '', /^[0-9a-f]{32}$/);
        assert.match(exemplar.labels.span_id ?? '', /^[0-9a-f]{16}$/);
      }
    });

    it('points every stored exemplar at a span the service exported', async () => {
      const exemplars = await storedExemplars(stack!.prometheus);
      await stack!.receiver.waitFor((spans) => {
        const exported = new Set(spans.map((span) => `${span.traceId}/${span.spanId}`));
        return exemplars.every((e) => exported.has(`${e.labels.trace_id}/${e.labels.span_id}`));
      });
      const server = new Map(stack!.receiver.serverSpans().map((span) => [span.spanId, span]));
      for (const exemplar of exemplars) {
        const span = server.get(exemplar.labels.span_id!);
        assert.ok(span, `exemplar ${exemplar.labels.span_id} is a server span`);
        assert.equal(span.attributes.exemplar, true, 'the exemplar span carries the mark tail sampling keeps');
      }
    });

    it('answers every PromQL expression of the dashboard with data', async () => {
      // Tempo's span metrics are not here (no Tempo): test/dashboard.test.ts checks their names against its source.
      const expressions = prometheusTargets().filter((target) => target.writtenBy === 'service');
      assert.ok(expressions.length >= 9);
      for (const { panel, expr } of expressions) {
        const promql = substituteDashboardVariables(expr);
        await stack!.prometheus.parse(promql);
        const result = await stack!.prometheus.query(promql);
        assert.ok(result.length > 0, `${panel}: ${promql} returned no data`);
      }
    });

    it('evaluates the committed recording rules per route', async () => {
      for (const quantile of ['p50', 'p95', 'p99']) {
        const result = await stack!.prometheus.query(`route:http_request_duration_seconds:${quantile}`);
        assert.deepEqual(result.map((sample) => sample.metric.route).sort(), ['/api/orders', '/api/users'], quantile);
      }
    });
  });

  describe('with the head ratio sampler at 0.1', () => {
    let stack: Stack | undefined;
    before(async () => {
      stack = await startScrapedStack({
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        USERS_SLOW_PROBABILITY: '0.34',
        USERS_SLOW_LATENCY_MS: '300',
        EXEMPLAR_POLICY: 'always',
      });
    });
    after(() => stopStack(stack));

    it('still stores no dangling exemplar', async () => {
      const exemplars = await storedExemplars(stack!.prometheus);
      assert.ok(exemplars.length > 0, 'some exemplars stored');
      await stack!.service.stop(); // flush every sampled span
      const exported = new Set(stack!.receiver.spans.map((span) => span.traceId));
      const dangling = exemplars.filter((e) => !exported.has(e.labels.trace_id!));
      assert.deepEqual(dangling, []);
    });
  });
});
