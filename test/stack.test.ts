// The Compose stack's files, checked as hard as this machine allows: the real promtool and the real Collector
// validate their files; Tempo and Grafana cannot run here, so their files are checked against the keys of the
// pinned versions (sources cited beside each check) and against each other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildDashboard, DASHBOARD_FILE } from '../scripts/dashboard.ts';
import { EXEMPLAR_TRACE_ID_LABEL } from '../src/telemetry/metrics.ts';
import { envFileWith, resolvedCompose } from '../harness/compose.ts';
import { peerDir } from '../harness/peers.ts';
import { prometheusDir } from '../harness/prometheus.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';

/** The stack's own config files (not docker-compose.yml: its services are read as Compose resolves them, below). */
const yamlOf = (path: string) => parse(readProjectFile(path)) as Record<string, any>;

/** The stack as `docker compose up` would run it with .env.example as .env, every profile included. */
const compose = resolvedCompose();
/** With no .env at all: what the file itself sets, no more. */
const withoutEnv = resolvedCompose([envFileWith()]).services;
/** With a user's .env that sets what the file leaves to the user. */
const USER_SETTINGS = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', ADMIN_TOKEN: 'a-user-token', GRAFANA_ADMIN_PASSWORD: 'a-user-password' };
const withUserEnv = resolvedCompose([envFileWith(USER_SETTINGS)]).services;
const services = Object.entries(compose.services);
/** One-shot helpers (others wait for them to complete) and opt-in profiles need no healthcheck or restart policy. */
const oneShot = new Set(
  services.flatMap(([, service]) => Object.entries(service.depends_on ?? {}).filter(([, { condition }]) => condition === 'service_completed_successfully').map(([name]) => name)),
);
const longRunning = services.filter(([name, service]) => service.profiles === undefined && !oneShot.has(name));

describe('docker-compose.yml', () => {
  it('has the five services of the demo', () => {
    for (const name of ['app', 'otel-collector', 'tempo', 'prometheus', 'grafana']) assert.ok(compose.services[name], name);
  });

  it('pins every image to a release tag', () => {
    const local = compose.services.app!.image;
    for (const [name, service] of services) {
      if (service.image === undefined || service.image === local) continue; // the app image is built here
      assert.match(service.image, /^[a-z0-9./-]+:v?\d+\.\d+\.\d+(-[a-z]+)?$/, `${name}: ${service.image}`);
    }
    assert.match(readProjectFile('Dockerfile'), /^ARG NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim$/m, 'Node 24 slim base pinned');
  });

  it('runs the same Prometheus and Collector releases as the tests build', () => {
    const prometheusModule = /require github.com\/prometheus\/prometheus v0\.(\d+)\.(\d+)/.exec(readProjectFile('peers/prometheus/go.mod'))!;
    const minor = Number(prometheusModule[1]);
    assert.equal(compose.services.prometheus!.image, `prom/prometheus:v${Math.floor(minor / 100)}.${minor % 100}.${prometheusModule[2]}`);
    const collector = /^\s*version: (\S+)$/m.exec(readProjectFile('peers/otelcol/builder-config.yaml'))![1];
    assert.equal(compose.services['otel-collector']!.image, `otel/opentelemetry-collector-contrib:${collector}`);
  });

  it('mounts only files that exist, and named volumes that are declared', () => {
    for (const [name, service] of services) {
      for (const mount of service.volumes ?? []) {
        const source = mount.source!;
        // Compose resolves bind sources to absolute paths (and would create a missing one as an empty folder).
        if (mount.type === 'bind') assert.ok(source.startsWith(ROOT) && existsSync(source), `${name} mounts missing ${source}`);
        else assert.ok(source in (compose.volumes ?? {}), `${name} uses undeclared volume ${source}`);
      }
    }
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, service] of services) {
      for (const port of service.ports ?? []) assert.equal(port.host_ip, '127.0.0.1', `${name}: ${JSON.stringify(port)}`);
    }
  });

  it('gives every long-running service a healthcheck and a restart policy, and waits on health', () => {
    for (const [name, service] of longRunning) {
      assert.ok(service.healthcheck ?? name === 'app', `${name} has a healthcheck`); // app: the Dockerfile's HEALTHCHECK
      assert.equal(service.restart, 'unless-stopped', `${name} restart policy`);
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.match(condition, /^service_(healthy|completed_successfully)$/, `${name} -> ${dependency}`);
      }
    }
    assert.match(readProjectFile('Dockerfile'), /^HEALTHCHECK /m);
    assert.match(readProjectFile('Dockerfile'), /^USER node$/m, 'the app runs as a non-root user');
  });

  it('samples every trace at the head in Compose, leaving the choice to the Collector', () => {
    assert.equal(withoutEnv.app!.environment!.OTEL_TRACES_SAMPLER, 'parentbased_always_on', 'without a .env');
    assert.equal(compose.services.app!.environment!.OTEL_TRACES_SAMPLER, 'parentbased_always_on', 'with .env.example');
    assert.equal(withUserEnv.app!.environment!.OTEL_TRACES_SAMPLER, USER_SETTINGS.OTEL_TRACES_SAMPLER, 'a .env chooses another');
  });
});

describe('Prometheus files (real promtool)', () => {
  const promtool = join(prometheusDir(), 'promtool');
  it('promtool check config passes (rules included)', () => {
    execFileSync(promtool, ['check', 'config', join(ROOT, 'prometheus/prometheus.yml')], { stdio: 'pipe' });
  });
  it('promtool check rules passes', () => {
    execFileSync(promtool, ['check', 'rules', join(ROOT, 'prometheus/rules.yml')], { stdio: 'pipe' });
  });
  it('scrapes the app with OpenMetrics first, and Compose turns exemplar storage on', () => {
    const config = yamlOf('prometheus/prometheus.yml');
    assert.deepEqual(config.scrape_config_files, ['scrape.yml']);
    const app = (yamlOf('prometheus/scrape.yml').scrape_configs as { job_name: string; scrape_protocols: string[] }[]).find((job) => job.job_name === 'exemplar-demo')!;
    assert.equal(app.scrape_protocols[0], 'OpenMetricsText1.0.0');
    assert.ok(config.storage.exemplars.max_exemplars > 0);
    const flags = compose.services.prometheus!.command!;
    assert.ok(flags.includes('--enable-feature=exemplar-storage'));
    // Nothing writes to it: span metrics and the service graph are scraped from the Collector.
    assert.ok(!flags.includes('--web.enable-remote-write-receiver'));
  });
  it('has p50/p95/p99 recording rules per route and a p99 alert held for a minute', () => {
    const rules = (yamlOf('prometheus/rules.yml').groups as { rules: { record?: string; alert?: string; for?: string; expr: string }[] }[]).flatMap((group) => group.rules);
    for (const quantile of ['p50', 'p95', 'p99']) assert.ok(rules.some((rule) => rule.record === `route:http_request_duration_seconds:${quantile}`));
    const alert = rules.find((rule) => rule.alert === 'HighP99Latency')!;
    assert.equal(alert.for, '1m');
    assert.match(alert.expr, /p99 > 2$/);
  });
});

describe('Collector files (real Collector, same release and components as the contrib image)', () => {
  const otelcol = join(peerDir('otelcol'), 'otelcol');
  const SPAN_METRICS_FILES = ['otel-collector/config.yaml', 'otel-collector/span-metrics.yaml'];
  it('otelcol validate passes, on config.yaml alone and with span-metrics.yaml merged as Compose does', () => {
    execFileSync(otelcol, ['validate', `--config=${join(ROOT, 'otel-collector/config.yaml')}`], { stdio: 'pipe' });
    execFileSync(otelcol, ['validate', ...SPAN_METRICS_FILES.map((file) => `--config=${join(ROOT, file)}`)], { stdio: 'pipe' });
  });
  it('merges the files in the order Compose passes them', () => {
    const command = compose.services['otel-collector']!.command!;
    assert.deepEqual(command.slice(0, 3), [...SPAN_METRICS_FILES, 'otel-collector/service-graph.yaml'].map((file) => `--config=/etc/otelcol/${file.split('/')[1]}`));
  });
  it('counts every span for span metrics, before tail sampling, and Prometheus scrapes them', () => {
    const { connectors, exporters, service } = JSON.parse(
      execFileSync(otelcol, ['print-config', '--mode=unredacted', '--format=json', ...SPAN_METRICS_FILES.map((file) => `--config=${join(ROOT, file)}`)], { encoding: 'utf8' }),
    ) as Record<string, any>;
    const everySpan = service.pipelines['traces/every-span'];
    assert.deepEqual(everySpan.receivers, service.pipelines.traces.receivers, 'the same spans as the tail-sampling pipeline');
    assert.ok(!everySpan.processors.includes('tail_sampling'), 'not after the sampler');
    assert.deepEqual(everySpan.exporters, ['span_metrics']);
    // No exemplars: most of these spans' traces are dropped by tail sampling, so they would open "trace not found".
    assert.notEqual(connectors.span_metrics.exemplars?.enabled, true);
    const fromSpans = service.pipelines['metrics/from-spans'];
    assert.deepEqual([fromSpans.receivers, fromSpans.exporters], [['span_metrics'], ['prometheus/span-metrics']]);
    const job = (yamlOf('prometheus/scrape.yml').scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[]).find((candidate) => candidate.job_name === 'span-metrics')!;
    assert.deepEqual(job.static_configs[0]!.targets, [exporters['prometheus/span-metrics'].endpoint]);
  });
  it('service-graph.yaml (its connector is not served to the test build): keys of the connector, the same pipelines extended', () => {
    const graph = yamlOf('otel-collector/service-graph.yaml');
    const spanMetrics = yamlOf('otel-collector/span-metrics.yaml');
    // Config keys of connector/servicegraphconnector (config.go and config.schema.yaml in the contrib repository).
    const known = new Set(['latency_histogram_buckets', 'exponential_histogram_max_size', 'dimensions', 'store', 'cache_loop', 'store_expiration_loop', 'virtual_node_peer_attributes', 'virtual_node_extra_label', 'metrics_flush_interval', 'metrics_timestamp_offset', 'database_name_attributes']);
    for (const key of Object.keys(graph.connectors.servicegraph)) assert.ok(known.has(key), key);
    assert.deepEqual(Object.keys(graph.connectors.servicegraph.store).sort(), ['max_items', 'ttl']);
    // Lists are replaced whole when the files merge: the span metrics connector must stay in both.
    assert.deepEqual(graph.service.pipelines['traces/every-span'].exporters, [...spanMetrics.service.pipelines['traces/every-span'].exporters, 'servicegraph']);
    assert.deepEqual(graph.service.pipelines['metrics/from-spans'].receivers, [...spanMetrics.service.pipelines['metrics/from-spans'].receivers, 'servicegraph']);
    assert.deepEqual(Object.keys(graph).sort(), ['connectors', 'service']);
  });
  it('uses the key names of the pinned release where they changed', () => {
    const config = yamlOf('otel-collector/config.yaml');
    // 0.161 names the OTLP gRPC exporter `otlp_grpc` (older releases: `otlp`), and health_check now binds to
    // localhost unless told otherwise, which a container healthcheck from outside could not reach.
    assert.deepEqual(Object.keys(config.exporters), ['otlp_grpc/tempo']);
    assert.equal(config.extensions.health_check.endpoint, 'otel-collector:13133');
    // Since Tempo 2.7 a receiver given only a port binds to localhost: ours name their host (checked below too).
    assert.match(config.exporters['otlp_grpc/tempo'].endpoint, /^tempo:4317$/);
  });

  it('keeps exemplar traces, errors, slow traces and a probabilistic 10% of the rest', () => {
    const policies = yamlOf('otel-collector/config.yaml').processors.tail_sampling.policies as Record<string, any>[];
    const byType = Object.fromEntries(policies.map((policy) => [policy.type, policy[policy.type]]));
    assert.deepEqual(byType.boolean_attribute, { key: 'exemplar', value: true }, 'the mark the service sets (src/telemetry/attributes.ts)');
    assert.deepEqual(byType.status_code, { status_codes: ['ERROR'] });
    assert.deepEqual(byType.latency, { threshold_ms: 500 });
    assert.deepEqual(byType.probabilistic, { sampling_percentage: 10 });
  });
});

describe('Tempo file (Tempo cannot be built here: checked against the keys of grafana/tempo v3.0.3)', () => {
  const tempo = yamlOf('tempo/tempo.yaml');
  it('has no 2.x block that Tempo 3.0 refuses', () => {
    for (const removed of ['ingester', 'compactor', 'query_frontend_v1']) assert.ok(!(removed in tempo), removed);
  });
  it('uses only top-level blocks that v3.0.3 knows', () => {
    // From docs/sources/tempo/configuration/manifest.md and _index.md at v3.0.3.
    const known = new Set(['stream_over_http_enabled', 'server', 'distributor', 'metrics_generator', 'storage', 'backend_worker', 'backend_scheduler', 'overrides', 'usage_report', 'query_frontend', 'querier', 'memberlist', 'live_store', 'block_builder', 'ingest', 'cache', 'memory']);
    for (const key of Object.keys(tempo)) assert.ok(known.has(key), key);
  });
  it('binds the OTLP receivers to the Compose host name (since 2.7 a bare port means localhost only)', () => {
    assert.equal(tempo.distributor.receivers.otlp.protocols.grpc.endpoint, 'tempo:4317');
    assert.equal(tempo.distributor.receivers.otlp.protocols.http.endpoint, 'tempo:4318');
  });
  it('has no metrics generator: it would count only the traces tail sampling kept', () => {
    assert.ok(!('metrics_generator' in tempo) && !('overrides' in tempo));
  });
});

describe('Grafana files (Grafana cannot be had here: checked against each other and the service)', () => {
  const datasources = yamlOf('grafana/provisioning/datasources/datasources.yaml').datasources as { uid: string; type: string; jsonData: Record<string, any> }[];
  const uids = new Map(datasources.map((datasource) => [datasource.uid, datasource.type]));
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as ReturnType<typeof buildDashboard>;

  it('links exemplars with the label the service emits to the Tempo datasource', () => {
    const prometheus = datasources.find((datasource) => datasource.type === 'prometheus')!;
    const destination = (prometheus.jsonData.exemplarTraceIdDestinations as { name: string; datasourceUid: string }[]).find(
      (entry) => entry.name === EXEMPLAR_TRACE_ID_LABEL,
    );
    assert.ok(destination, `a destination for the label ${EXEMPLAR_TRACE_ID_LABEL}`);
    assert.equal(uids.get(destination.datasourceUid), 'tempo');
  });
  it('points the Tempo datasource at Prometheus for traces-to-metrics and the service map', () => {
    const tempo = datasources.find((datasource) => datasource.type === 'tempo')!;
    assert.equal(uids.get(tempo.jsonData.tracesToMetrics.datasourceUid), 'prometheus');
    assert.equal(uids.get(tempo.jsonData.serviceMap.datasourceUid), 'prometheus');
    assert.equal(tempo.jsonData.nodeGraph.enabled, true);
  });
  // The dashboard's own checks are in test/dashboard.test.ts.
  it('opens on the last 15 minutes, refreshing every 5 s, and is the home dashboard', () => {
    assert.deepEqual(dashboard.time, { from: 'now-15m', to: 'now' });
    assert.equal(dashboard.refresh, '5s');
    assert.equal(compose.services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, '/var/lib/grafana/dashboards/latency.json');
    assert.equal(withUserEnv.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD, USER_SETTINGS.GRAFANA_ADMIN_PASSWORD, 'admin password from .env');
    assert.equal(withoutEnv.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD, '', 'and none written in the file');
  });
});

describe('security defaults', () => {
  it('runs the app container as non-root with a read-only root, no capabilities and no privilege gain', () => {
    const app = compose.services.app!;
    assert.equal(app.read_only, true);
    assert.deepEqual(app.cap_drop, ['ALL']);
    assert.deepEqual(app.security_opt, ['no-new-privileges:true']);
    assert.match(readProjectFile('Dockerfile'), /^USER node$/m);
  });

  it('keeps the fault switch off unless a token is set', () => {
    assert.equal(withoutEnv.app!.environment!.ADMIN_TOKEN, '', 'without a .env');
    assert.equal(compose.services.app!.environment!.ADMIN_TOKEN, '', 'with .env.example');
    assert.equal(withUserEnv.app!.environment!.ADMIN_TOKEN, USER_SETTINGS.ADMIN_TOKEN, 'a token set in .env reaches the app');
    assert.match(readProjectFile('.env.example'), /^ADMIN_TOKEN=$/m, '.env.example names the switch, empty');
  });

  it('commits no secret, credential or machine-specific path', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((file) => file !== '' && existsSync(join(ROOT, file)));
    assert.ok(files.length > 20, 'git knows the files');
    const forbidden: [string, RegExp][] = [
      ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
      ['AWS key', /AKIA[0-9A-Z]{16}/],
      ['machine path', /(?<![\w.~])\/(root|home\/[a-z]+|work\/main)\//],
      ['committed .env', /^GRAFANA_ADMIN_PASSWORD=(?!change-me$).+/m],
    ];
    for (const file of files) {
      if (file === 'test/stack.test.ts') continue; // the patterns themselves
      // The Dockerfile's npm cache mount names the build container's home, not this machine's.
      const text = readFileSync(join(ROOT, file), 'utf8').replaceAll('target=/root/.npm', '');
      for (const [what, pattern] of forbidden) assert.doesNotMatch(text, pattern, `${what} in ${file}`);
    }
    assert.ok(!files.includes('.env'), '.env is not committed');
  });
});
