// The real service process, started as it ships (OpenTelemetry through --import), exporting over OTLP/gRPC to a
// real receiver: spans, propagation, samplers, logs, and each enabled instrumentation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PAYMENT_SERVICE } from '../src/domain/orders.ts';
import { USER_DATABASE } from '../src/domain/users.ts';
import { OTLP_CLIENT_KIND, OTLP_INTERNAL_KIND, OTLP_SERVER_KIND, OtlpReceiver, type ReceivedSpan } from '../harness/otlp-receiver.ts';
import { runNode, SERVICE_ARGS, type ServiceProcess, startServiceExportingTo } from '../harness/service.ts';
import { eventually } from '../harness/eventually.ts';

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
interface ServiceGraphConfig {
  connectors: { service_graph: { virtual_node_peer_attributes: string[]; database_name_attributes: string[] } };
}

function exemplarTraceIds(exposition: string): string[] {
  return [...exposition.matchAll(/ # \{trace_id="([0-9a-f]{32})"/g)].map((match) => match[1]!);
}

describe('tracing (service process, OTLP over gRPC)', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await OtlpReceiver.start();
  });
  after(() => receiver.stop());

  describe('with parentbased_always_on and the slow paths forced', () => {
    let service: ServiceProcess;
    let usersResponse: Response;
    let readyStatus = 0;
    let exposition = '';
    before(async () => {
      service = await startServiceExportingTo(receiver, {
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        OTEL_SERVICE_NAME: 'tracing-test',
        DEPLOYMENT_ENVIRONMENT: 'test',
        USERS_SLOW_PROBABILITY: '1',
        USERS_SLOW_LATENCY_MS: '60',
        PAYMENT_SLOW_PROBABILITY: '1',
        PAYMENT_SLOW_LATENCY_MS: '60',
        SLOW_REQUEST_THRESHOLD_MS: '50',
        TRACE_URL_TEMPLATE: 'http://grafana.test/trace/{trace_id}',
      });
      usersResponse = await fetch(`${service.baseUrl}/api/users?limit=3`, {
        headers: { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01`, baggage: 'user_id=alice,region=eu-west' },
      });
      await usersResponse.arrayBuffer();
      await (await fetch(`${service.baseUrl}/api/orders`)).arrayBuffer();
      await (await fetch(`${service.baseUrl}/health`)).arrayBuffer();
      readyStatus = (await fetch(`${service.baseUrl}/ready`)).status;
      exposition = await (await fetch(`${service.baseUrl}/metrics`)).text();
      await receiver.waitFor((spans) => spans.filter((span) => span.resource['service.name'] === 'tracing-test').length >= 5);
      assert.equal((await service.stop()).code, 0);
    });
    const ours = () => receiver.spans.filter((span) => span.resource['service.name'] === 'tracing-test');
    const server = (route: string) => ours().filter((span) => span.kind === OTLP_SERVER_KIND && span.attributes['http.route'] === route);

    it('continues the caller trace with exactly one server span per request, named by route template', () => {
      const [users, ...extra] = server('/api/users');
      assert.ok(users);
      assert.equal(extra.length, 0);
      assert.equal(users.name, 'GET /api/users');
      assert.equal(users.traceId, PARENT_TRACE);
      assert.equal(users.parentSpanId, PARENT_SPAN);
      assert.equal(users.attributes['http.response.status_code'], 200);
      assert.equal(server('/api/orders').length, 1);
      assert.equal(ours().filter((span) => span.kind === OTLP_SERVER_KIND).length, 2, 'no server span for /health or /metrics');
    });

    it('returns the trace in the server-timing header', () => {
      assert.equal(usersResponse.headers.get('server-timing'), `traceparent;desc="00-${PARENT_TRACE}-${server('/api/users')[0]!.spanId}-01"`);
    });

    it('turns baggage user_id and region into span attributes', () => {
      const users = server('/api/users')[0]!;
      assert.equal(users.attributes['user.id'], 'alice');
      assert.equal(users.attributes['app.region'], 'eu-west');
    });

    it('records the slow database query as a child span with database attributes', () => {
      const users = server('/api/users')[0]!;
      const query = ours().find((span) => span.parentSpanId === users.spanId);
      assert.ok(query);
      assert.equal(query.name, 'SELECT users');
      assert.equal(query.kind, OTLP_CLIENT_KIND, 'a CLIENT span, so the service graph draws the database');
      assert.equal(query.attributes['db.system.name'], 'postgresql');
      assert.equal(query.attributes['db.namespace'], USER_DATABASE);
      assert.equal(query.attributes['db.collection.name'], 'users');
      assert.equal(query.attributes.slow_query, true);
      assert.ok(query.durationSeconds >= 0.055, `query took ${query.durationSeconds} s`);
    });

    it('records fetchOrders then a slow checkPaymentStatus under the orders span', () => {
      const orders = server('/api/orders')[0]!;
      const children = ours().filter((span) => span.parentSpanId === orders.spanId);
      assert.deepEqual(children.map((span) => span.name).sort(), ['checkPaymentStatus', 'fetchOrders']);
      const payment = children.find((span) => span.name === 'checkPaymentStatus')!;
      assert.equal(payment.attributes.external_service_slow, true);
      assert.equal(payment.attributes['peer.service'], 'payment-service');
      assert.equal(payment.kind, OTLP_CLIENT_KIND, 'a CLIENT span, so the service graph draws the payment service');
      assert.equal(children.find((span) => span.name === 'fetchOrders')!.kind, OTLP_INTERNAL_KIND);
    });

    it("names each CLIENT span's peer by an attribute the Collector's service graph reads (service-graph.yaml)", () => {
      const graph = (parse(readFileSync(new URL('../otel-collector/service-graph.yaml', import.meta.url), 'utf8')) as ServiceGraphConfig).connectors.service_graph;
      // A database attribute makes a database node of that name; otherwise the first peer attribute a virtual node.
      const named = (span: ReceivedSpan, keys: readonly string[]) => span.attributes[keys.find((key) => span.attributes[key] !== undefined) ?? ''];
      const peers = ours()
        .filter((span) => span.kind === OTLP_CLIENT_KIND)
        .map((span) => named(span, graph.database_name_attributes) ?? named(span, graph.virtual_node_peer_attributes))
        .sort();
      assert.deepEqual([...new Set(peers)], [PAYMENT_SERVICE, USER_DATABASE].sort());
    });

    it('names the service, its version and environment in the resource', () => {
      const resource = ours()[0]!.resource;
      assert.equal(resource['service.name'], 'tracing-test');
      assert.equal(resource['service.version'], '0.1.0');
      assert.equal(resource['deployment.environment.name'], 'test');
    });

    it('writes one structured warning per slow request, with a trace URL', () => {
      const warnings = service.logs.filter((line) => line.msg === 'slow request');
      assert.equal(warnings.length, 2);
      const users = server('/api/users')[0]!;
      const warning = warnings.find((line) => line.route === '/api/users')!;
      assert.equal(warning.level, 'warn');
      assert.equal(warning.trace_id, users.traceId);
      assert.equal(warning.span_id, users.spanId);
      assert.ok(typeof warning.duration_seconds === 'number' && warning.duration_seconds >= 0.05);
      assert.equal(warning.trace_url, `http://grafana.test/trace/${users.traceId}`);
    });

    it('is ready once tracing runs, and exposes the default process metrics', () => {
      assert.equal(readyStatus, 200);
      assert.match(exposition, /^process_cpu_user_seconds_total \d/m);
      assert.match(exposition, /^nodejs_eventloop_lag_seconds \d/m);
    });

    it('logs JSON lines only', () => {
      assert.deepEqual(service.logs.filter((line) => line.level === 'raw'), []);
    });
  });

  describe('with parentbased_traceidratio at 0.1', () => {
    const requests = 300;
    let service: ServiceProcess;
    let spans: ReceivedSpan[];
    let exposition: string;
    before(async () => {
      service = await startServiceExportingTo(receiver, {
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_SERVICE_NAME: 'ratio-test',
        EXEMPLAR_POLICY: 'always',
      });
      for (let i = 0; i < requests; i += 1) await (await fetch(`${service.baseUrl}/api/${i % 2 === 0 ? 'users' : 'orders'}`)).arrayBuffer();
      const parent = (flags: string) => ({ traceparent: `00-${PARENT_TRACE.replace(/^4/, flags === '01' ? '5' : '6')}-${PARENT_SPAN}-${flags}` });
      await (await fetch(`${service.baseUrl}/api/users`, { headers: parent('01') })).arrayBuffer();
      await (await fetch(`${service.baseUrl}/api/users`, { headers: parent('00') })).arrayBuffer();
      // The exemplar of the last sampled request shows once the receiver has accepted its span.
      const scrape = async () => (await fetch(`${service.baseUrl}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).text();
      exposition = (await eventually(async () => ((text) => (text.includes(PARENT_TRACE.replace(/^4/, '5')) ? text : undefined))(await scrape()), { timeoutMs: 10_000, intervalMs: 200 })) ?? '';
      assert.equal((await service.stop()).code, 0); // shutdown flushes, so everything sampled has arrived
      spans = receiver.serverSpans().filter((span) => span.resource['service.name'] === 'ratio-test');
    });

    it('samples about a tenth of new traces', () => {
      const own = spans.filter((span) => span.parentSpanId === '').length;
      // Binomial(300, 0.1): mean 30, standard deviation 5.2; 10..55 is outside by more than 3.8 deviations.
      assert.ok(own >= 10 && own <= 55, `${own} of ${requests} sampled`);
    });

    it('follows the caller sampling decision', () => {
      assert.ok(spans.some((span) => span.traceId === PARENT_TRACE.replace(/^4/, '5')), 'sampled parent: exported');
      assert.ok(!spans.some((span) => span.traceId === PARENT_TRACE.replace(/^4/, '6')), 'unsampled parent: not exported');
    });

    it('never points an exemplar at a trace that was not exported', () => {
      const exported = new Set(spans.map((span) => span.traceId));
      const exemplars = exemplarTraceIds(exposition);
      assert.ok(exemplars.length > 0);
      for (const traceId of exemplars) assert.ok(exported.has(traceId), `exemplar ${traceId} is exported`);
    });
  });
  describe('the instrumentations enabled in instrumentation.ts', () => {
    const TOKEN = 'test-admin-token-0123456789';
    let service: ServiceProcess;
    /** The headers of each call the payment stand-in (a node:http server) received. */
    const paymentCalls: IncomingHttpHeaders[] = [];
    const payment = createServer((request, response) => {
      paymentCalls.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"paid"}');
    });
    let errorResponse: Response;
    before(async () => {
      await new Promise<void>((resolve) => payment.listen(0, '127.0.0.1', resolve));
      service = await startServiceExportingTo(receiver, {
        OTEL_SERVICE_NAME: 'instrumentation-test',
        PAYMENT_SERVICE_URL: `http://127.0.0.1:${(payment.address() as AddressInfo).port}/payments`,
        ADMIN_TOKEN: TOKEN,
      });
      await (await fetch(`${service.baseUrl}/api/orders`)).arrayBuffer();
      const fault = { route: '/api/users', slow_probability: 0, added_latency_ms: 0, error_probability: 1, duration_seconds: 60 };
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      assert.equal((await fetch(`${service.baseUrl}/admin/faults`, { method: 'POST', headers, body: JSON.stringify(fault) })).status, 201);
      errorResponse = await fetch(`${service.baseUrl}/api/users`);
      await errorResponse.arrayBuffer();
      assert.equal((await service.stop()).code, 0);
    });
    after(() => {
      payment.closeAllConnections();
      payment.close();
    });
    const ours = () => receiver.spans.filter((span) => span.resource['service.name'] === 'instrumentation-test');

    it('fetch (undici): the payment call inside a request is a CLIENT span that carries traceparent to the server', () => {
      const checkPayment = ours().find((span) => span.name === 'checkPaymentStatus')!;
      const call = ours().find((span) => span.parentSpanId === checkPayment.spanId);
      assert.ok(call, 'a span under checkPaymentStatus');
      assert.equal(call.kind, OTLP_CLIENT_KIND);
      // One CLIENT span per call, the instrumentation's: the service graph draws the call once.
      assert.equal(checkPayment.kind, OTLP_INTERNAL_KIND);
      assert.equal(call.attributes['http.request.method'], 'GET');
      assert.equal(paymentCalls.length, 1);
      assert.equal(paymentCalls[0]!.traceparent, `00-${call.traceId}-${call.spanId}-01`);
    });

    it('pino: a log line written inside a request carries its trace and span IDs', () => {
      const server = ours().find((span) => span.kind === OTLP_SERVER_KIND && span.attributes['http.route'] === '/api/users')!;
      assert.equal(errorResponse.status, 500);
      const line = service.logs.find((entry) => entry.msg === 'unhandled error')!;
      assert.equal((line.err as { type: string }).type, 'InjectedFaultError');
      assert.equal(line.trace_id, server.traceId);
      assert.equal(line.span_id, server.spanId, 'the error handler runs in the server span');
    });

    it('node:http: a request made inside a span is a CLIENT span that carries traceparent (a script started as the service is)', async () => {
      const { code, output } = await runNode(['--import', SERVICE_ARGS[1]!, 'test/fixtures/http-get-in-span.ts', `http://127.0.0.1:${(payment.address() as AddressInfo).port}/payments`], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.address,
        OTEL_SERVICE_NAME: 'http-instrumentation-test',
      });
      assert.equal(code, 0, output);
      const client = receiver.spans.find((span) => span.resource['service.name'] === 'http-instrumentation-test' && span.kind === OTLP_CLIENT_KIND);
      assert.ok(client, 'a CLIENT span from the node:http instrumentation');
      assert.equal(paymentCalls.at(-1)!.traceparent, `00-${client.traceId}-${client.spanId}-01`);
    });
  });
});
