// The Compose stack's files, checked as hard as this machine allows: the real promtool and the real Collector
// validate their files; Tempo and Grafana cannot run here, so their files are checked against the keys of the
// pinned versions (sources cited beside each check) and against each other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, SERVICE_VARIABLES } from '../src/config.ts';
import { EXEMPLAR_TRACE_ID_LABEL } from '../src/telemetry/metrics.ts';
import { envFileWith, type ResolvedService, resolvedCompose } from '../harness/compose.ts';
import { appImageEnvironment } from '../harness/images.ts';
import { peerDir } from '../harness/peers.ts';
import { Prometheus, prometheusDir } from '../harness/prometheus.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';

/** The stack's own config files (not docker-compose.yml: its services are read as Compose resolves them, below). */
const yamlOf = (path: string) => parse(readProjectFile(path)) as Record<string, any>;

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/**
 * A duration in milliseconds: Go's and Prometheus's (`1m30s`, `2s`, `2d`) and Grafana's intervals (`10m`, `-10m`,
 * as rangeUtil.intervalToMs reads them).
 */
function durationMs(duration: string): number {
  const sign = duration.startsWith('-') ? -1 : 1;
  const parts = [...duration.replace(/^-/, '').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  assert.ok(parts.length > 0 && parts.map(([part]) => part).join('') === duration.replace(/^-/, ''), `not a duration: ${duration}`);
  return sign * parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * MS_PER_UNIT[unit!]!, 0);
}

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

describe("the service's settings under Compose (every variable src/config.ts reads)", () => {
  /** Where the service listens inside its container: the Dockerfile's ENV, which the published port and healthcheck need. */
  const SET_BY_THE_IMAGE = new Set(['HOST', 'PORT']);
  /** Fixed by the stack: the dashboard's trace searches name the service. */
  const SET_BY_THE_STACK = new Set(['OTEL_SERVICE_NAME']);
  /** In .env under names of their own, so that OTEL_EXPORTER_OTLP_* exported in a shell for `npm start` stay out. */
  const DOT_ENV_NAME: Record<string, string> = {
    OTEL_EXPORTER_OTLP_PROTOCOL: 'APP_OTLP_PROTOCOL',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'APP_OTLP_PROTOCOL',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'APP_OTLP_ENDPOINT',
  };
  const settable = SERVICE_VARIABLES.filter((name) => !SET_BY_THE_IMAGE.has(name) && !SET_BY_THE_STACK.has(name));
  const dotEnvName = (name: string) => DOT_ENV_NAME[name] ?? name;
  const app = compose.services.app!;

  it('passes every one of them to the app container', () => {
    for (const name of SERVICE_VARIABLES) {
      if (SET_BY_THE_IMAGE.has(name)) assert.ok(name in appImageEnvironment(), `${name} in the Dockerfile's ENV`);
      else assert.ok(name in (app.environment ?? {}), `${name} in the app service's environment`);
    }
  });

  it("takes each settable one from the user's .env", () => {
    const userEnv = Object.fromEntries(settable.map((name) => [dotEnvName(name), `set-in-dot-env-${dotEnvName(name)}`]));
    const arrived = resolvedCompose([envFileWith(userEnv)]).services.app!.environment!;
    for (const name of settable) assert.equal(arrived[name], userEnv[dotEnvName(name)], name);
  });

  it('documents each in .env.example, with the default the file has', () => {
    const example = readProjectFile('.env.example');
    for (const name of settable) assert.match(example, new RegExp(`^${dotEnvName(name)}=`, 'm'), `${dotEnvName(name)} in .env.example`);
    assert.deepEqual(app.environment, withoutEnv.app!.environment, '.env.example as .env changes nothing');
  });

  it('starts the service with the defaults (a valid configuration)', () => {
    const environment = Object.fromEntries(Object.entries(app.environment!).filter((entry): entry is [string, string] => entry[1] !== null));
    assert.doesNotThrow(() => loadConfig({ ...environment, HOST: '0.0.0.0', PORT: '8080' }));
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
  it('keeps retention in the config files, not in the flag Prometheus 3.16 deprecates', () => {
    const prometheuses = services.filter(([, service]) => service.image.startsWith('prom/prometheus:'));
    assert.equal(prometheuses.length, 2);
    for (const [name, service] of prometheuses) assert.ok(!service.command!.some((flag) => flag.startsWith('--storage.tsdb.retention')), name);
    // scale.yml repeats prometheus.yml's storage block (test/scale.test.ts).
    for (const file of ['prometheus/prometheus.yml', 'prometheus/longterm.yml']) assert.ok(durationMs(yamlOf(file).storage.tsdb.retention.time) > 0, file);
  });
  it("runs the real Prometheus with the committed storage block, which sets its retention", async () => {
    // The test Prometheus reads prometheus.yml's storage block (harness/prometheus.ts), as Compose's does.
    const prometheus = await Prometheus.start({ target: '127.0.0.1:9' });
    try {
      const runtime = await prometheus.get<{ storageRetention: string }>('/api/v1/status/runtimeinfo');
      assert.equal(runtime.storageRetention, yamlOf('prometheus/prometheus.yml').storage.tsdb.retention.time);
    } finally {
      await prometheus.stop();
    }
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
  const COMPOSE_FILES = [...SPAN_METRICS_FILES, 'otel-collector/service-graph.yaml'];
  const configArgs = (files: readonly string[]) => files.map((file) => `--config=${join(ROOT, file)}`);
  it('otelcol validate passes, on config.yaml alone, with span-metrics.yaml, and with service-graph.yaml merged as Compose does', () => {
    for (const files of [['otel-collector/config.yaml'], SPAN_METRICS_FILES, COMPOSE_FILES]) execFileSync(otelcol, ['validate', ...configArgs(files)], { stdio: 'pipe' });
  });
  it('merges the files in the order Compose passes them', () => {
    const command = compose.services['otel-collector']!.command!;
    assert.deepEqual(command.slice(0, 3), COMPOSE_FILES.map((file) => `--config=/etc/otelcol/${file.split('/')[1]}`));
  });
  it('counts every span for span metrics, before tail sampling, and Prometheus scrapes them', () => {
    const { connectors, exporters, service } = JSON.parse(
      execFileSync(otelcol, ['print-config', '--mode=unredacted', '--format=json', ...configArgs(SPAN_METRICS_FILES)], { encoding: 'utf8' }),
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
  it('service-graph.yaml: the service graph connector (validated above with its keys), the same pipelines extended', () => {
    const graph = yamlOf('otel-collector/service-graph.yaml');
    const spanMetrics = yamlOf('otel-collector/span-metrics.yaml');
    // `service_graph` is the connector's type; `servicegraph` only a deprecated alias (internal/metadata at v0.159.0).
    assert.deepEqual(Object.keys(graph.connectors), ['service_graph']);
    // Lists are replaced whole when the files merge: the span metrics connector must stay in both.
    assert.deepEqual(graph.service.pipelines['traces/every-span'].exporters, [...spanMetrics.service.pipelines['traces/every-span'].exporters, 'service_graph']);
    assert.deepEqual(graph.service.pipelines['metrics/from-spans'].receivers, [...spanMetrics.service.pipelines['metrics/from-spans'].receivers, 'service_graph']);
    assert.deepEqual(Object.keys(graph).sort(), ['connectors', 'service']);
  });
  it('uses the key names of the pinned release where they changed', () => {
    const config = yamlOf('otel-collector/config.yaml');
    // 0.161 names the OTLP exporters `otlp_grpc` and `otlp_http` (older releases: `otlp`, `otlphttp`), and
    // health_check now binds to localhost unless told otherwise, which a container healthcheck from outside could not reach.
    assert.deepEqual(Object.keys(config.exporters), ['otlp_grpc/tempo', 'otlp_http/loki']);
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

interface TraceQuery {
  timeShiftEnabled?: boolean;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
}


/**
 * The time range a trace-ID lookup (a click on an exemplar dot) asks Tempo for, as the Tempo datasource plugin
 * computes it from the range Explore opens with, the dashboard's (grafana/grafana-tempo-datasource, src/datasource.ts,
 * TempoDatasource.makeTraceIdRequest): with traceQuery.timeShiftEnabled, the range's start minus spanStartTimeShift
 * to its end plus spanEndTimeShift (each '30m' when empty); without it, all time (its backend, pkg/tempo/trace.go,
 * then sends no start or end).
 */
function traceLookupWindow(traceQuery: TraceQuery | undefined, range: { from: number; to: number }): { from: number; to: number } {
  if (traceQuery?.timeShiftEnabled !== true) return { from: -Infinity, to: Infinity };
  return { from: range.from - durationMs(traceQuery.spanStartTimeShift || '30m'), to: range.to + durationMs(traceQuery.spanEndTimeShift || '30m') };
}

describe('Grafana files (Grafana cannot be had here: checked against each other and the service)', () => {
  const datasources = yamlOf('grafana/provisioning/datasources/datasources.yaml').datasources as { uid: string; type: string; jsonData: Record<string, any> }[];
  const uids = new Map(datasources.map((datasource) => [datasource.uid, datasource.type]));

  it('links exemplars with the label the service emits to the Tempo datasource', () => {
    const prometheus = datasources.find((datasource) => datasource.type === 'prometheus')!;
    const destination = (prometheus.jsonData.exemplarTraceIdDestinations as { name: string; datasourceUid: string }[]).find(
      (entry) => entry.name === EXEMPLAR_TRACE_ID_LABEL,
    );
    assert.ok(destination, `a destination for the label ${EXEMPLAR_TRACE_ID_LABEL}`);
    assert.equal(uids.get(destination.datasourceUid), 'tempo');
  });
  // The service map's and the exemplar labels' datasources, and the dashboard itself: test/dashboard.test.ts.
  it('points the Tempo datasource at Prometheus for traces-to-metrics, with the node graph on', () => {
    const tempo = datasources.find((datasource) => datasource.type === 'tempo')!;
    assert.equal(uids.get(tempo.jsonData.tracesToMetrics.datasourceUid), 'prometheus');
    assert.equal(tempo.jsonData.nodeGraph.enabled, true);
  });
  it("widens a trace lookup around the dashboard's range to hold every dot's trace, as the Tempo plugin reads the shifts", () => {
    const traceQuery = datasources.find((datasource) => datasource.type === 'tempo')!.jsonData.traceQuery as TraceQuery;
    // The sign, as the plugin's own test reads it (src/datasource.test.ts, "should include time shift when querying
    // for traceID"): shifts of 2m and 4m on 16:00-16:15 ask Tempo for 15:58-16:19.
    const at = (hours: number, minutes: number) => Date.UTC(2022, 8, 13, hours, minutes);
    assert.deepEqual(traceLookupWindow({ timeShiftEnabled: true, spanStartTimeShift: '2m', spanEndTimeShift: '4m' }, { from: at(16, 0), to: at(16, 15) }), { from: at(15, 58), to: at(16, 19) });
    // A dot is drawn at its exemplar's time, when its request ended; its trace began up to the request's duration
    // earlier: under two minutes here (the fault switch adds at most 60 s, src/http/routes/admin.ts).
    const slowestRequestMs = 2 * 60_000;
    const now = Date.UTC(2026, 11, 4, 12, 0);
    for (const rangeMinutes of [15, 6 * 60, 24 * 60]) {
      const range = { from: now - rangeMinutes * 60_000, to: now };
      const lookup = traceLookupWindow(traceQuery, range);
      for (const dot of [range.from, range.to]) {
        const trace = { from: dot - slowestRequestMs, to: dot };
        assert.ok(lookup.from <= trace.from && trace.to <= lookup.to, `${rangeMinutes}-minute range, dot ${(dot - range.from) / 60_000} min in: lookup ${(lookup.from - range.from) / 60_000}..${(lookup.to - range.from) / 60_000} min misses its trace`);
      }
    }
  });
  it('makes the dashboard the home page, and takes the admin password from .env only', () => {
    assert.equal(compose.services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, '/var/lib/grafana/dashboards/latency.json');
    assert.equal(withUserEnv.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD, USER_SETTINGS.GRAFANA_ADMIN_PASSWORD, 'admin password from .env');
    assert.equal(withoutEnv.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD, '', 'and none written in the file');
  });
});

describe("stopping: each service's grace period covers its program's stop, or Docker kills it mid-way", () => {
  /** The stack as Compose resolves it without and with the scale profile's switches (scale.env). */
  const models = { single: compose, scale: resolvedCompose([join(ROOT, '.env.example'), join(ROOT, 'scale.env')]) };
  /** How long after SIGTERM Docker sends SIGKILL: stop_grace_period, or Docker's default of 10 s. */
  const gracePeriodMs = (service: ResolvedService) => durationMs(service.stop_grace_period ?? '10s');
  const flag = (service: ResolvedService, name: string) => service.command?.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  /** Whether the Prometheus config file the service runs remote-writes. */
  const remoteWrites = (service: ResolvedService) => yamlOf(`prometheus/${basename(flag(service, 'config.file')!)}`).remote_write !== undefined;

  // Remote-write queues retry their last samples for up to --storage.remote.flush-deadline (1m by default,
  // cmd/prometheus/main.go at v3.16.0); closing the TSDB after that is quick, its WAL already on disk.
  const prometheusStopMs = (service: ResolvedService) => (remoteWrites(service) ? durationMs(flag(service, 'storage.remote.flush-deadline') ?? '1m') : 0) + 1_000;
  // The batch processor sends its last batch, then each exporter's queue is flushed without retries, each export
  // ending at the exporter's timeout (5 s by default: exporterhelper v0.161.0, internal/base_exporter.go Shutdown and
  // generated_config.go). Compose stops the Collectors before Tempo, which they depend on, so it still answers.
  // The Collector's exporters and batch processor, from every file its command names (mounted from the project).
  const collectorStopMs = (service: ResolvedService) => {
    const files = service.command!.filter((arg) => arg.startsWith('--config=') && arg !== '--config=/dev/null').map((arg) => arg.slice('--config='.length));
    const configs = files.map((file) => parse(readFileSync(service.volumes!.find((mount) => mount.target === file)!.source!, 'utf8')) as Record<string, any>);
    const exporters = configs.flatMap((config) => Object.values((config.exporters ?? {}) as Record<string, { timeout?: string; protocol?: { otlp?: { timeout?: string } } }>));
    const exportMs = Math.max(...exporters.map((exporter) => durationMs(exporter.timeout ?? exporter.protocol?.otlp?.timeout ?? '5s')));
    const batchMs = Math.max(0, ...configs.map((config) => durationMs(config.processors?.batch?.timeout ?? '0s')));
    return batchMs + exportMs;
  };
  /** The longest each program takes from SIGTERM to its exit, from its own settings (the source of each beside it). */
  const stopMs: Readonly<Record<string, (service: ResolvedService) => number>> = {
    // src/main.ts shutdown: in-flight requests get up to shutdownTimeoutMs, then the SDK flushes the queued spans in
    // exports that each end at the OTLP timeout (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default: otlp-exporter-base's
    // configuration/shared-configuration; its retries stay within that deadline, retrying-transport).
    app: (service) => {
      const environment = Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, value ?? undefined]));
      return loadConfig(environment).shutdownTimeoutMs + Number(environment.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000);
    },
    // The backend worker waits this long for its current job (modules/backendworker/config.go at v3.0.3); the rest
    // of Tempo's stop took about 3 s in the run on tempo.yaml (2 s there: stopped in about 5 s).
    tempo: () => durationMs(yamlOf('tempo/tempo.yaml').backend_worker?.finish_on_shutdown_timeout ?? '30s') + 3_000,
    prometheus: prometheusStopMs,
    'prometheus-longterm': prometheusStopMs,
    'otel-collector': collectorStopMs,
    'otel-sampler-1': collectorStopMs,
    'otel-sampler-2': collectorStopMs,
    // No setting bounds Grafana's stop: it cancels its services and closes its SQLite database. An estimate, not a
    // measurement (Grafana cannot run here).
    grafana: () => 5_000,
    // Loki 3.7.6 keeps its write-ahead log on stop instead of flushing chunks (`ingester.flush-on-shutdown` false,
    // pkg/ingester/wal.go), waits no shutdown delay (`shutdown-delay` 0, pkg/loki/loki.go) and no final sleep
    // (`ingester.final-sleep` 0s, docs/sources/shared/configuration.md): an estimate, as for Grafana (not timed).
    loki: () => 5_000,
  };

  it('knows the stop of every service that runs until stopped', () => {
    const restarting = services.filter(([, service]) => service.restart === 'unless-stopped').map(([name]) => name);
    assert.deepEqual(restarting.sort(), Object.keys(stopMs).sort());
  });
  for (const [name, stopOf] of Object.entries(stopMs)) {
    it(`gives ${name} longer than its stop, with and without the scale profile`, () => {
      for (const [profile, model] of Object.entries(models)) {
        const service = model.services[name]!;
        const [grace, stop] = [gracePeriodMs(service), stopOf(service)];
        assert.ok(grace > stop, `${name} (${profile}): stop_grace_period ${grace / 1000} s, its stop up to ${stop / 1000} s`);
      }
    });
  }
  it('gives remote write at most 5 s to flush when Prometheus stops (the scale profile remote-writes)', () => {
    const remoteWriting = Object.values(models).flatMap((model) => Object.values(model.services).filter((service) => service.image.startsWith('prom/prometheus:') && remoteWrites(service)));
    assert.ok(remoteWriting.length > 0);
    for (const service of remoteWriting) assert.ok(durationMs(flag(service, 'storage.remote.flush-deadline') ?? '1m') <= 5_000);
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
