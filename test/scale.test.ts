// The scale profile's files (`make up-scale`), checked as the single stack's are: the real Collector validates and
// resolves the merged configurations, the real promtool checks both Prometheus files, and the Compose services
// are checked against the files and against each other. e2e/scale.ts runs the topology itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { resolvedCompose } from '../harness/compose.ts';
import { peerDir } from '../harness/peers.ts';
import { prometheusDir } from '../harness/prometheus.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';

/** The Collector and Prometheus files themselves (the Compose services are read as Compose resolves them). */
const yamlOf = (path: string) => parse(readProjectFile(path)) as Record<string, any>;

const dotEnv = join(ROOT, '.env.example');
/** `make up`: every profile's services, as Compose resolves them with .env.example as .env. */
const compose = resolvedCompose([dotEnv]);
/** `make up-scale`: the same with scale.env's switches. */
const scaled = resolvedCompose([dotEnv, join(ROOT, 'scale.env')]);
/** scale.env's switches, read from the file itself: which settings the scale profile turns. */
const scaleEnv = Object.fromEntries(
  readProjectFile('scale.env')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]),
);
const samplers = Object.entries(compose.services).filter(([name]) => name.startsWith('otel-sampler-'));
const gatewayFiles = ['otel-collector/config.yaml', 'otel-collector/gateway.yaml'];
const samplerFiles = ['otel-collector/config.yaml', 'otel-collector/sampler.yaml'];

/** The configuration the real Collector resolves from several --config files (merged in order, env expanded). */
function resolvedCollectorConfig(files: string[], env: Record<string, string> = {}): Record<string, any> {
  const otelcol = join(peerDir('otelcol'), 'otelcol');
  const args = files.map((file) => `--config=${join(ROOT, file)}`);
  const options = { encoding: 'utf8' as const, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  execFileSync(otelcol, ['validate', ...args], options);
  // Durations print as nanoseconds.
  const printed = execFileSync(otelcol, ['print-config', '--mode=unredacted', '--format=json', ...args], options);
  return JSON.parse(printed) as Record<string, any>;
}

describe('scale profile: Collector files (real Collector, merged as Compose passes them)', () => {
  const single = resolvedCollectorConfig(['otel-collector/config.yaml']);

  it('each sampler runs the single Collector\'s policies, pipeline and exporter, on its own addresses', () => {
    assert.ok(samplers.length >= 2, 'at least two samplers');
    for (const [name, service] of samplers) {
      assert.deepEqual(service.command, samplerFiles.map((file) => `--config=/etc/otelcol/${file.split('/')[1]}`), name);
      assert.equal(service.environment?.OTEL_SAMPLER_HOST, name, `${name} binds to its own host name`);
      const sampler = resolvedCollectorConfig(samplerFiles, { OTEL_SAMPLER_HOST: name });
      assert.deepEqual(sampler.processors, single.processors, `${name}: the same tail-sampling policies`);
      assert.deepEqual(sampler.exporters, single.exporters, `${name}: exports to the trace store`);
      assert.deepEqual(sampler.service.pipelines, single.service.pipelines);
      assert.equal(sampler.receivers.otlp.protocols.grpc.endpoint, `${name}:4317`);
      assert.equal(sampler.receivers.otlp.protocols.http.endpoint, `${name}:4318`);
      assert.equal(sampler.extensions.health_check.endpoint, `${name}:13133`);
      assert.equal(sampler.service.telemetry.metrics.readers[0].pull.exporter.prometheus.host, name);
    }
  });

  it('writes the policies once: only config.yaml has processors', () => {
    for (const file of ['otel-collector/sampler.yaml', 'otel-collector/gateway.yaml']) assert.ok(!('processors' in yamlOf(file)), file);
  });

  it('the gateway keeps the single Collector\'s addresses and routes every span by trace ID to the samplers', () => {
    const gateway = resolvedCollectorConfig(gatewayFiles);
    assert.deepEqual(gateway.receivers, single.receivers, 'the service still sends to otel-collector:4317');
    assert.deepEqual(gateway.service.pipelines.traces, { receivers: ['otlp'], processors: ['memory_limiter'], exporters: ['load_balancing'] });
    const balancer = gateway.exporters.load_balancing;
    // Keys of exporter/loadbalancingexporter v0.161.0 (config.go): routing_key, resolver.static.hostnames, and
    // protocol.otlp holding an OTLP gRPC exporter's settings but its endpoint.
    assert.equal(balancer.routing_key, 'traceID');
    assert.deepEqual(balancer.resolver.static.hostnames, samplers.map(([name]) => `${name}:4317`));
    assert.equal(balancer.protocol.otlp.tls.insecure, true);
  });

  it('bounds what a sampler that is down costs: retries end, the queue has a size', () => {
    const otlp = resolvedCollectorConfig(gatewayFiles).exporters.load_balancing.protocol.otlp;
    const seconds = 1e9;
    assert.equal(otlp.retry_on_failure.enabled, true);
    assert.ok(otlp.retry_on_failure.max_elapsed_time > 0 && otlp.retry_on_failure.max_elapsed_time <= 300 * seconds, 'retries give up (0 would retry forever)');
    assert.ok(otlp.retry_on_failure.max_interval <= 5 * seconds, 'a sampler that is back gets its spans within seconds');
    assert.equal(yamlOf('otel-collector/gateway.yaml').exporters.load_balancing.protocol.otlp.sending_queue.sizer, 'items', 'the queue counts spans');
    assert.ok(otlp.sending_queue.queue_size > 0 && otlp.sending_queue.queue_size <= 100_000);
  });
});

describe('scale profile: Prometheus files (real promtool)', () => {
  const promtool = join(prometheusDir(), 'promtool');
  for (const file of ['prometheus/scale.yml', 'prometheus/longterm.yml']) {
    it(`promtool check config ${file}`, () => {
      execFileSync(promtool, ['check', 'config', join(ROOT, file)], { stdio: 'pipe' });
    });
  }

  it('scale.yml is prometheus.yml plus the samplers and remote write with exemplars to the long-term one', () => {
    const single = yamlOf('prometheus/prometheus.yml');
    const scale = yamlOf('prometheus/scale.yml');
    for (const key of ['global', 'storage', 'rule_files', 'scrape_config_files']) assert.deepEqual(scale[key], single[key], key);
    assert.deepEqual(
      scale.scrape_configs.flatMap((job: { static_configs: { targets: string[] }[] }) => job.static_configs.flatMap((config) => config.targets)),
      samplers.map(([name]) => `${name}:8888`),
    );
    // RemoteWriteConfig of prometheus v3.16.0 (config/config.go): send_exemplars defaults to false.
    assert.deepEqual(scale.remote_write, [{ url: 'http://prometheus-longterm:9090/api/v1/write', send_exemplars: true }]);
  });
});

describe('scale profile: Compose services', () => {
  const collector = compose.services['otel-collector']!;
  const prometheus = compose.services.prometheus!;
  const longterm = compose.services['prometheus-longterm']!;

  it('puts every new service in the scale profile, so `make up` starts what it did', () => {
    for (const name of [...samplers.map(([sampler]) => sampler), 'prometheus-longterm']) assert.deepEqual(compose.services[name]!.profiles, ['scale'], name);
  });

  it('switches the gateway and remote write on only through scale.env, to files the services mount', () => {
    const scaledCollector = scaled.services['otel-collector']!;
    const scaledPrometheus = scaled.services.prometheus!;
    assert.ok(collector.command!.includes('--config=/dev/null'), 'unset: the single Collector');
    assert.ok(scaledCollector.command!.includes(`--config=${scaleEnv.OTEL_COLLECTOR_OVERLAY}`), 'set: the gateway on top');
    const gateway = join(ROOT, 'otel-collector/gateway.yaml');
    assert.ok(
      scaledCollector.volumes!.some((mount) => mount.type === 'bind' && mount.source === gateway && mount.target === scaleEnv.OTEL_COLLECTOR_OVERLAY && mount.read_only === true),
      'gateway.yaml is mounted there, read-only',
    );
    assert.ok(prometheus.command!.includes('--config.file=/etc/prometheus/prometheus.yml'), 'unset: the single Prometheus');
    assert.ok(scaledPrometheus.command!.includes(`--config.file=/etc/prometheus/${scaleEnv.PROMETHEUS_CONFIG}`), 'set: scale.yml');
    assert.ok(scaledPrometheus.volumes!.some((mount) => mount.type === 'bind' && mount.source === join(ROOT, 'prometheus') && mount.target === '/etc/prometheus'), 'prometheus/ is mounted as /etc/prometheus');
    assert.ok(existsSync(join(ROOT, 'prometheus', scaleEnv.PROMETHEUS_CONFIG!)), `prometheus/${scaleEnv.PROMETHEUS_CONFIG} exists`);
    assert.deepEqual(Object.keys(scaleEnv).sort(), ['OTEL_COLLECTOR_OVERLAY', 'PROMETHEUS_CONFIG']);
  });

  it('runs the samplers on the single Collector\'s image, healthy-gated like it', () => {
    for (const [name, sampler] of samplers) {
      assert.equal(sampler.image, collector.image, name);
      assert.equal(sampler.restart, 'unless-stopped', name);
      assert.ok(sampler.healthcheck!.test!.includes(`http://${name}:13133/`), `${name} healthcheck asks its own address`);
      assert.deepEqual(sampler.depends_on, collector.depends_on, name);
    }
  });

  it('the long-term Prometheus is the same release, receives remote write and keeps exemplars', () => {
    assert.equal(longterm.image, prometheus.image);
    assert.equal(longterm.restart, 'unless-stopped');
    assert.ok(longterm.healthcheck);
    for (const flag of ['--config.file=/etc/prometheus/longterm.yml', '--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage']) {
      assert.ok(longterm.command!.includes(flag), flag);
    }
    assert.ok(yamlOf('prometheus/longterm.yml').storage.exemplars.max_exemplars > 0);
  });
});
