// The exemplar doctor against real misconfigurations and real faults, run by e2e/run.ts beside the main stack
// (whose service, on app:8080, and trace store, Jaeger on tempo:16686, it reuses). Every variant lives here, in
// the test, never in the shipped configuration:
//   - Prometheus with exemplar storage off; Prometheus scraping the service in the text format;
//   - a Grafana datasource file that maps only `traceID`;
//   - the Collector with its tail sampling but without the exemplar policy;
// and the fault scenarios with the Collector running otel-collector/config.yaml (only its listen addresses moved):
// killed for 20 s in a minute of load, then restarted once, with the doctor's resolution figure for each.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { checkLinks, checkFormat, checkStorage, type Resolution, type StoredExemplar, storedExemplars } from '../scripts/doctor.ts';
import { freePort } from '../harness/process.ts';
import { Prometheus } from '../harness/prometheus.ts';
import { ServiceProcess } from '../harness/service.ts';
import { peerDir } from '../harness/peers.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';
import { Program } from './program.ts';
import { EXEMPLAR_SELECTOR, type Outcome, resolveExemplars, runLoadScript } from './stack.ts';

const METRIC = 'http_request_duration_seconds';
/** The Collector's tail-sampling decision (2 s after the root span), its batch (1 s) and the service's batch (1 s). */
const UNDECIDED_SECONDS = 4;
/** How long a Collector told to stop may still accept spans. */
const STOPPING_SECONDS = 1;

type Check = (condition: boolean, message: string) => void;

export interface FaultFigures {
  readonly scenario: string;
  readonly slices: { name: string; resolved: number; checked: number; dangling: number }[];
}

/** The Collector built by scripts/peers.sh, running a config file; started again after a kill, as a new Program. */
class Collector {
  private program: Program | undefined;
  private starts = 0;
  private readonly configFile: string;
  private readonly healthUrl: string;
  private readonly name: string;

  constructor(configFile: string, healthUrl: string, name: string) {
    this.configFile = configFile;
    this.healthUrl = healthUrl;
    this.name = name;
  }

  async start(): Promise<void> {
    this.starts += 1;
    const program = new Program(this.starts === 1 ? this.name : `${this.name}-${this.starts}`, join(peerDir('otelcol'), 'otelcol'), [`--config=${this.configFile}`]);
    this.program = program;
    await program.waitReady(this.healthUrl); // kills the program if it fails: nothing outlives the run
  }

  /** SIGKILL: the process dies at once, with whatever it holds (a crash, an OOM kill). */
  async kill(): Promise<void> {
    await this.program!.kill();
  }

  /** SIGTERM: the Collector shuts down as it would on a redeploy. */
  async stop(): Promise<void> {
    await this.program!.stop();
  }
}

interface CollectorPorts {
  readonly grpc: number;
  readonly http: number;
  readonly health: number;
  readonly metrics: number;
}

/**
 * otel-collector/config.yaml with its listen addresses moved to free loopback ports (the main stack's Collector
 * keeps otel-collector:4317), and `edit` applied for a variant. Its exporter still sends to tempo:4317.
 */
function collectorConfig(dir: string, name: string, ports: CollectorPorts, edit: (config: CollectorYaml) => void = () => {}): string {
  const config = parse(readProjectFile('otel-collector/config.yaml')) as CollectorYaml;
  config.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${ports.grpc}`;
  config.receivers.otlp.protocols.http.endpoint = `127.0.0.1:${ports.http}`;
  config.extensions.health_check.endpoint = `127.0.0.1:${ports.health}`;
  Object.assign(config.service.telemetry.metrics.readers[0]!.pull.exporter.prometheus, { host: '127.0.0.1', port: ports.metrics });
  edit(config);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

interface CollectorYaml {
  extensions: { health_check: { endpoint: string } };
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  processors: { tail_sampling: { policies: { name: string }[] } };
  service: { telemetry: { metrics: { readers: { pull: { exporter: { prometheus: { host: string; port: number } } } }[] } } };
}

/** scripts/load.ts against `baseUrl` for `seconds` at an even 30 requests per second, no spike. */
function load(logName: string, baseUrl: string, seconds: number): Promise<void> {
  return runLoadScript(logName, ['--base-url', baseUrl, '--duration', String(seconds), '--rate', '30', '--concurrency', '4', '--spike-duration', '0', '--json']);
}

const within = (exemplars: readonly StoredExemplar[], from: number, to: number) => exemplars.filter((e) => e.timestamp >= from && e.timestamp < to);

function figure(name: string, resolution: Resolution) {
  return { name, resolved: resolution.resolved, checked: resolution.checked, dangling: resolution.dangling.length };
}

// ---------------------------------------------------------------------------------------------- misconfigurations

async function prometheusVariants(check: Check): Promise<void> {
  const off = await Prometheus.start({ target: 'app:8080', exemplarStorage: false });
  try {
    await off.waitForScrapes(2);
    const storage = await checkStorage(off, METRIC, await storedExemplars(off, `{__name__="${METRIC}_bucket"}`, 600), 10);
    check(storage.verdict === 'fail' && /^Exemplar storage is off/.test(storage.summary), `doctor, exemplar storage off: ${storage.summary}`);
  } finally {
    await off.stop();
  }
  const text = await Prometheus.start({ target: 'app:8080', scrapeProtocols: ['PrometheusText0.0.4'] });
  try {
    await text.waitForScrapes(2);
    const format = await checkFormat(text, METRIC, 10, 5000);
    check(format.verdict === 'fail' && /scraped in the Prometheus text format/.test(format.summary), `doctor, text-format scrape: ${format.summary}`);
  } finally {
    await text.stop();
  }
}

async function grafanaVariant(check: Check, exemplars: readonly StoredExemplar[], dir: string): Promise<void> {
  const shipped = 'grafana/provisioning/datasources/datasources.yaml';
  const ok = await checkLinks(exemplars, { kind: 'file', path: join(ROOT, shipped) }, undefined);
  check(ok.verdict === 'pass', `doctor, the shipped datasource file: ${ok.summary}`);
  const provisioned = parse(readProjectFile(shipped)) as { datasources: { type: string; jsonData?: { exemplarTraceIdDestinations?: { name: string }[] } }[] };
  for (const datasource of provisioned.datasources.filter((d) => d.type === 'prometheus')) {
    datasource.jsonData!.exemplarTraceIdDestinations = datasource.jsonData!.exemplarTraceIdDestinations!.filter((d) => d.name === 'traceID');
  }
  const file = join(dir, 'datasources-traceID-only.yaml');
  writeFileSync(file, stringify(provisioned));
  const links = await checkLinks(exemplars, { kind: 'file', path: file }, undefined);
  check(links.verdict === 'fail' && /carry trace_id, which .* does not map/.test(links.summary), `doctor, datasource file with only traceID: ${links.summary}`);
}

// ---------------------------------------------------------------------------------------------- the Collector

async function withoutExemplarPolicy(check: Check, service: ServiceProcess, prometheus: Prometheus, collector: Collector): Promise<void> {
  await collector.start();
  const from = Date.now() / 1000;
  try {
    await load('load-without-exemplar-policy', service.baseUrl, 10);
    await sleep(UNDECIDED_SECONDS * 1000 + 2000);
  } finally {
    await collector.stop();
  }
  const exemplars = within(await storedExemplars(prometheus, EXEMPLAR_SELECTOR, 600), from, Date.now() / 1000);
  const resolution = await resolveExemplars(exemplars);
  check(
    resolution.result.verdict === 'fail' && /tail-sampling policy/.test(resolution.result.fix ?? ''),
    `doctor, tail sampling without the exemplar policy: ${resolution.result.summary.replace(/ in the trace store at \S+/, '')}`,
  );
}

/** The shipped Collector killed for 20 s in a minute of load, then restarted once in 20 s of load. */
async function faultScenarios(check: Check, service: ServiceProcess, prometheus: Prometheus, collector: Collector): Promise<FaultFigures[]> {
  const now = () => Date.now() / 1000;
  const loadStart = now();
  const killing = load('load-collector-killed', service.baseUrl, 60);
  await sleep(20_000);
  await collector.kill();
  // From here nothing can accept a span: an exemplar made now must never be shown.
  const killedAt = now();
  await sleep(20_000);
  const restartedAt = now();
  await collector.start();
  await killing;
  const killEnd = now();

  const restartLoad = load('load-collector-restarted', service.baseUrl, 20);
  await sleep(10_000);
  const stoppedAt = now();
  await collector.stop();
  await collector.start();
  await restartLoad;
  await sleep(UNDECIDED_SECONDS * 1000 + 2000);
  const end = now();

  const exemplars = await storedExemplars(prometheus, EXEMPLAR_SELECTOR, 600);
  const resolve = (from: number, to: number) => resolveExemplars(within(exemplars, from, to));
  /** When the dangling exemplars were made, in seconds from `moment`. */
  const spread = (resolution: Resolution, moment: number) => {
    const offsets = resolution.dangling.map((d) => d.timestamp - moment).sort((a, b) => a - b);
    return offsets.length === 0 ? '' : ` (made ${offsets[0]!.toFixed(1)} to ${offsets.at(-1)!.toFixed(1)} s from it)`;
  };
  const before = await resolve(loadStart, killedAt);
  const down = await resolve(killedAt, restartedAt);
  const back = await resolve(restartedAt, killEnd);
  // The service shows an exemplar only once the Collector has accepted its span (accepted-spans.ts): none made while
  // it was down may dangle. Those made before the kill whose traces it held undecided are lost with it.
  check(
    before.checked > 0 && back.checked > 0 && down.dangling.length === 0,
    `fault, Collector killed for 20 s: ${down.resolved} of ${down.checked} exemplars made while it was down resolve; ${down.dangling.length} dangling${spread(down, killedAt)} (goal 0)`,
  );
  console.log(
    `      made in the 20 s before the kill: ${before.resolved} of ${before.checked} resolve, ${before.dangling.length} dangling${spread(before, killedAt)}, undecided in the Collector when it died; ` +
      `after the restart ${back.resolved} of ${back.checked}`,
  );

  const restartRun = await resolve(killEnd, end);
  const atRestart = restartRun.dangling.filter((d) => d.timestamp >= stoppedAt - UNDECIDED_SECONDS && d.timestamp <= stoppedAt + STOPPING_SECONDS).length;
  check(
    restartRun.checked > 0 && restartRun.dangling.length === atRestart,
    `fault, Collector restarted once: ${restartRun.resolved} of ${restartRun.checked} resolve; ${restartRun.dangling.length} dangling${spread(restartRun, stoppedAt)}, ` +
      `${atRestart} of them from the ${UNDECIDED_SECONDS} s before the restart (traces the Collector held undecided when it stopped)`,
  );
  return [
    { scenario: 'Collector killed for 20 s', slices: [figure('20 s before', before), figure('while down', down), figure('after restart', back)] },
    { scenario: 'Collector restarted once', slices: [figure('20 s around the restart', restartRun)] },
  ];
}

/**
 * Every doctor variant and fault scenario, with what each check found in the order they ran; `exemplars` are those
 * the main stack's Prometheus stores.
 */
export async function runDoctorScenarios(exemplars: readonly StoredExemplar[]): Promise<{ outcomes: Outcome[]; faults: FaultFigures[] }> {
  const outcomes: Outcome[] = [];
  const check: Check = (passed, message) => void outcomes.push({ passed, message });
  const dir = mkdtempSync(join(tmpdir(), 'exemplar-demo-doctor-'));
  try {
    await prometheusVariants(check);
    await grafanaVariant(check, exemplars, dir);

    // One service (every request an exemplar) and one Prometheus (scraping every second) for the Collector runs,
    // the Collector variants taking turns on the same ports.
    const ports = { grpc: await freePort(), http: await freePort(), health: await freePort(), metrics: await freePort() };
    const healthUrl = `http://127.0.0.1:${ports.health}/`;
    const noPolicy = collectorConfig(dir, 'collector-no-exemplar-policy', ports, (config) => {
      config.processors.tail_sampling.policies = config.processors.tail_sampling.policies.filter((policy) => policy.name !== 'keep-exemplar-traces');
    });
    const service = await ServiceProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.grpc}`, EXEMPLAR_POLICY: 'always' });
    const prometheus = await Prometheus.start({ target: new URL(service.baseUrl).host });
    try {
      await withoutExemplarPolicy(check, service, prometheus, new Collector(noPolicy, healthUrl, 'collector-no-exemplar-policy'));
      const collector = new Collector(collectorConfig(dir, 'collector', ports), healthUrl, 'collector-faults');
      await collector.start();
      try {
        return { outcomes, faults: await faultScenarios(check, service, prometheus, collector) };
      } finally {
        await collector.stop();
      }
    } finally {
      await prometheus.stop();
      await service.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
