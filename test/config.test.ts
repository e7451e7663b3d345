import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { runNode } from '../harness/service.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.deepEqual(config.users, { baseLatencyMs: 20, jitterMs: 30, slowProbability: 0.05, slowLatencyMs: 800 });
    assert.equal(config.orders.paymentSlowProbability, 0.1);
    assert.equal(config.orders.paymentSlowLatencyMs, 2000);
    assert.equal(config.exemplars.policy, 'adaptive');
    assert.equal(config.exemplars.thresholdSeconds, 0.5);
    assert.equal(config.slowRequestThresholdSeconds, 2);
    assert.equal(config.telemetry.otlpProtocol, 'grpc');
    assert.equal(config.telemetry.otlpEndpoint, 'http://localhost:4317');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.users));
    assert.equal(config.adminToken, undefined, 'the fault switch is off by default');
    assert.match(config.traceUrl('0af7651916cd43dd8448eb211c80319c'), /^http:\/\/localhost:3000\/explore\?schemaVersion=1&panes=.*0af7651916cd43dd8448eb211c80319c/);
  });

  const bad: [string, string, RegExp][] = [
    ['PORT', 'eighty', /PORT: .*number/],
    ['PORT', '70000', /PORT: .*65535/],
    ['USERS_SLOW_PROBABILITY', '1.5', /USERS_SLOW_PROBABILITY: .*1/],
    ['USERS_SLOW_LATENCY_MS', '-1', /USERS_SLOW_LATENCY_MS: .*0/],
    ['PAYMENT_SLOW_PROBABILITY', 'often', /PAYMENT_SLOW_PROBABILITY: .*number/],
    ['PAYMENT_SLOW_LATENCY_MS', '2.5', /PAYMENT_SLOW_LATENCY_MS: .*int/],
    ['EXEMPLAR_POLICY', 'sometimes', /EXEMPLAR_POLICY: .*always.*rate.*threshold.*adaptive/],
    ['EXEMPLAR_RATE', '2', /EXEMPLAR_RATE/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['METRIC_REGIONS', 'eu-west,EU WEST', /METRIC_REGIONS\.1: lowercase/],
    ['TRACE_URL_TEMPLATE', 'http://grafana/explore', /TRACE_URL_TEMPLATE: must contain the placeholder \{trace_id\}/],
    ['ADMIN_TOKEN', 'short', /ADMIN_TOKEN: at least 16 characters/],
    ['ADMIN_TOKEN', 'a token with spaces', /ADMIN_TOKEN: letters, digits and/],
    ['GRAFANA_URL', 'localhost:3000', /GRAFANA_URL/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4317', /OTEL_EXPORTER_OTLP_ENDPOINT/],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http', /OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc.*http\/protobuf/],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/json', /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: .*grpc.*http\/protobuf/],
    ['OTEL_TRACES_SAMPLER', 'parentbased_ratio', /OTEL_TRACES_SAMPLER: /],
    ['OTEL_TRACES_SAMPLER_ARG', '10', /OTEL_TRACES_SAMPLER_ARG/],
  ];
  for (const [name, value, message] of bad) {
    it(`refuses ${name}=${value} and names it`, () => {
      assert.throws(() => loadConfig({ [name]: value }), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  it('takes the OTLP protocol from the traces variable first, then the general one, with that transport\'s default port', () => {
    const protocolOf = (env: Record<string, string>) => {
      const { otlpProtocol, otlpEndpoint } = loadConfig(env).telemetry;
      return `${otlpProtocol} ${otlpEndpoint}`;
    };
    assert.equal(protocolOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), 'http/protobuf http://localhost:4318');
    assert.equal(protocolOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }), 'grpc http://localhost:4317');
    assert.equal(protocolOf({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), 'http/protobuf http://collector:4318');
  });

  it('refuses the other transport\'s well-known port', () => {
    assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }), /OTEL_EXPORTER_OTLP_ENDPOINT: port 4317 is OTLP\/gRPC/);
    assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT: port 4317/);
  });

  it('refuses a fetch range whose maximum is below its minimum', () => {
    assert.throws(() => loadConfig({ ORDERS_FETCH_MIN_MS: '50', ORDERS_FETCH_MAX_MS: '30' }), /ORDERS_FETCH_MAX_MS: must not be below/);
  });

  it('names every bad variable at once', () => {
    assert.throws(() => loadConfig({ PORT: 'x', EXEMPLAR_POLICY: 'y' }), /PORT: .*; EXEMPLAR_POLICY: /);
  });

  it('stops the service at start-up with the message and exit code 78', async () => {
    const { code, output } = await runNode(['src/main.ts'], { PORT: '0', USERS_SLOW_PROBABILITY: '7' });
    assert.equal(code, 78);
    assert.match(output, /invalid configuration: USERS_SLOW_PROBABILITY: /);
  });
});
