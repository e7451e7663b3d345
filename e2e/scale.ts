// The scale profile proven without Docker (`make e2e` runs it after e2e/run.ts): the gateway Collector, two
// tail-sampling Collectors, the scraping Prometheus and the long-term one (Mimir's stand-in) run the commands
// docker-compose.yml gives them with scale.env, files unedited, beside the service and Jaeger (Tempo's stand-in).
// Phase 1, steady load: every exemplar in the long-term Prometheus resolves, both samplers take a share, 10% of
// ordinary traces are kept. Phase 2: one sampler is killed (SIGKILL) for 20 s under load, and what happens to the
// traces routed to it is measured. Last: the long-term Prometheus holds exactly the scraping one's exemplars.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { type StoredExemplar, storedExemplars } from '../scripts/doctor.ts';
import type { Sample } from '../scripts/load.ts';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import {
  ADMIN_TOKEN,
  check,
  checkHealthchecks,
  composeStack,
  checkExemplarsResolve,
  exitWith,
  failures,
  type Figures,
  mapHostNames,
  passed,
  traceFound,
} from './run.ts';
import { peerDir } from '../harness/peers.ts';
import { LOGS, Program, ROOT, WORK } from './program.ts';

const LONGTERM = 'http://prometheus-longterm:9090';
const SCRAPING = 'http://prometheus:9090';
const longterm = new PrometheusApi(LONGTERM);
const scraping = new PrometheusApi(SCRAPING);
const SAMPLERS = ['otel-sampler-1', 'otel-sampler-2'] as const;
const KILLED = SAMPLERS[1];
const EXEMPLAR_SELECTOR = '{job="exemplar-demo", __name__=~"http_request_duration_seconds_bucket|http_requests_total|http_errors_total"}';
const SLOW_SECONDS = 0.5;
const KILL_AT_SECONDS = 15;
const DOWN_SECONDS = 20;
const PHASE2_SECONDS = 50;

// ---------------------------------------------------------------------------------------------- routing

/**
 * Which sampler the gateway sends a trace to: the load-balancing exporter's consistent-hash ring, recomputed from
 * exporter/loadbalancingexporter v0.161.0 (consistent_hashing.go: 200 points per endpoint from CRC-32 of the endpoint
 * and a little-endian counter, modulo 131071 positions, collisions probed forward; a trace goes to the first point
 * at or after CRC-32 of its 16 ID bytes; resolver_static.go sorts the endpoints). The kill phase checks it: every
 * trace lost must be one this says was routed to the killed sampler.
 */
function routeOf(endpoints: readonly string[]): (traceId: string) => string {
  const positions = 131071;
  const candidates = [...endpoints].sort().flatMap((endpoint) =>
    Array.from({ length: 200 }, (_, index) => {
      const counter = Buffer.alloc(4);
      counter.writeUInt32LE(index);
      const hash = crc32(Buffer.concat([Buffer.from(endpoint), counter]));
      return { position: hash % positions, hash, endpoint };
    }),
  );
  candidates.sort((a, b) => a.position - b.position || a.hash - b.hash || (a.endpoint < b.endpoint ? -1 : 1));
  const taken = new Set<number>();
  const ring: { position: number; endpoint: string }[] = [];
  for (const candidate of candidates) {
    let position = candidate.position;
    let probes = 0;
    while (taken.has(position) && probes < 10) {
      position = (position + 1) % positions;
      probes += 1;
    }
    if (probes >= 10) continue;
    taken.add(position);
    ring.push({ position, endpoint: candidate.endpoint });
  }
  ring.sort((a, b) => a.position - b.position);
  return (traceId) => {
    const position = crc32(Buffer.from(traceId, 'hex')) % positions;
    return (ring.find((item) => item.position >= position) ?? ring[0]!).endpoint;
  };
}

// ---------------------------------------------------------------------------------------------- load

async function load(seconds: number, samplesFile: string, spike: string[]): Promise<Sample[]> {
  await promisify(execFile)(
    process.execPath,
    ['scripts/load.ts', '--base-url', 'http://app:8080', '--duration', String(seconds), '--rate', '40', '--concurrency', '8', '--admin-token', ADMIN_TOKEN, '--json', '--samples-file', samplesFile, ...spike],
    { cwd: ROOT },
  );
  return readFileSync(samplesFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Sample);
}

const mustKeep = (sample: Sample) => sample.traceId !== undefined && (sample.status !== 200 || sample.seconds >= SLOW_SECONDS);
const percent = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;

async function counterBy(query: string): Promise<Map<string, number>> {
  return new Map((await scraping.query(query)).map((sample) => [sample.metric.instance ?? '', Number(sample.value[1])]));
}

// ---------------------------------------------------------------------------------------------- phases

/** Steady load: shares of the two samplers (their own metrics), exemplar resolution from the long-term store. */
async function steadyPhase(since: number): Promise<void> {
  // 40 s, as e2e/run.ts: enough ordinary (unmarked) traces for the kept-share check.
  console.log('phase 1: 40 s of baseline and spike load through the gateway');
  const samples = await load(40, join(WORK, 'samples-steady.jsonl'), ['--spike-start', '12', '--spike-duration', '10', '--spike-latency-ms', '1200']);
  await sleep(15_000); // tail-sampling decisions, export batches, two scrapes and a remote-write round

  // The Collector's counters carry no _total suffix in its Prometheus text; OpenMetrics scrapes would add one.
  const acceptedSpans = (job: string) => counterBy(`sum by (instance) ({__name__=~"otelcol_receiver_accepted_spans(_total)?", job="${job}"})`);
  const accepted = await acceptedSpans('otel-sampler');
  const total = [...accepted.values()].reduce((sum, value) => sum + value, 0);
  const shares = SAMPLERS.map((name) => (accepted.get(`${name}:8888`) ?? 0) / Math.max(1, total));
  const gateway = (await acceptedSpans('otel-collector')).get('otel-collector:8888') ?? 0;
  check(
    shares.every((share) => share >= 0.35 && share <= 0.65) && total === gateway,
    `7. spans accepted by each sampler (its own otelcol_receiver_accepted_spans): ${SAMPLERS.map((name, index) => `${name} ${accepted.get(`${name}:8888`)} (${(100 * shares[index]!).toFixed(1)}%)`).join(', ')}; gateway received ${gateway}`,
  );

  const exemplars = await storedExemplars(longterm, EXEMPLAR_SELECTOR, (Date.now() - since) / 1000);
  console.log(`      ${exemplars.length} exemplars in the long-term Prometheus (remote write)`);
  const figures = { timeToTraceSeconds: [] } as unknown as Figures;
  await checkExemplarsResolve(exemplars, samples, figures);
}

interface Window {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

/** One sampler killed for DOWN_SECONDS under load: where the traces routed to it end up. */
async function killPhase(launch: (name: string, logName: string) => Program, samplers: Map<string, Program>): Promise<void> {
  console.log(`phase 2: ${PHASE2_SECONDS} s of load; ${KILLED} killed (SIGKILL) at ${KILL_AT_SECONDS} s, back ${DOWN_SECONDS} s later`);
  const started = Date.now();
  const loading = load(PHASE2_SECONDS, join(WORK, 'samples-kill.jsonl'), ['--spike-duration', '0']);
  await sleep(KILL_AT_SECONDS * 1000);
  const killedAt = Date.now();
  await samplers.get(KILLED)!.kill();
  await sleep(DOWN_SECONDS * 1000);
  const restartedAt = Date.now();
  const restarted = launch(KILLED, `${KILLED}-restarted`);
  await restarted.waitReady(`http://${KILLED}:13133/`);
  const samples = await loading;
  await sleep(15_000);

  const route = routeOf(SAMPLERS.map((name) => `${name}:4317`));
  const killedEndpoint = `${KILLED}:4317`;
  // The sampler holds a trace from its first span until 2 s after its root (decision_wait_after_root_received),
  // then up to 1 s in the batch processor: traces that ended within 5 s before the kill were in its memory.
  const windows: Window[] = [
    { name: 'before the kill', from: started, to: killedAt - 5000 },
    { name: 'in its memory when killed (ended < 5 s before)', from: killedAt - 5000, to: killedAt },
    { name: 'while it was down', from: killedAt, to: restartedAt },
    { name: 'after it was back', from: restartedAt, to: Infinity },
  ];
  const found = new Map(await Promise.all(samples.filter(mustKeep).map(async (sample) => [sample.traceId!, await traceFound(sample.traceId!)] as const)));
  console.log('      error and slow traces (always kept by policy) found in the trace store, by where they were routed:');
  for (const window of windows) {
    const inWindow = samples.filter((sample) => mustKeep(sample) && sample.endedAt >= window.from && sample.endedAt < window.to);
    const row = SAMPLERS.map((name) => {
      const routed = inWindow.filter((sample) => route(sample.traceId!) === `${name}:4317`);
      const stored = routed.filter((sample) => found.get(sample.traceId!)).length;
      return `${name} ${stored}/${routed.length} (${percent(stored, routed.length)})`;
    });
    console.log(`        ${window.name.padEnd(48)} ${row.join('   ')}`);
  }

  const lost = samples.filter((sample) => mustKeep(sample) && !found.get(sample.traceId!));
  check(lost.every((sample) => route(sample.traceId!) === killedEndpoint), `8. every lost error/slow trace (${lost.length}) was routed to ${KILLED} (the exporter's ring, recomputed)`);
  const down = samples.filter((sample) => mustKeep(sample) && route(sample.traceId!) === killedEndpoint && sample.endedAt >= killedAt && sample.endedAt < restartedAt);
  const downStored = down.filter((sample) => found.get(sample.traceId!)).length;
  check(down.length > 0 && downStored === down.length, `8. error/slow traces routed to ${KILLED} while it was down, held in the gateway's queue and delivered when it came back: ${downStored} of ${down.length}`);

  const exemplars = await storedExemplars(longterm, EXEMPLAR_SELECTOR, (Date.now() - started) / 1000);
  const withTrace = exemplars.filter((e): e is StoredExemplar & { traceId: string } => e.traceId !== undefined && e.timestamp * 1000 >= started);
  const inPhase = [...new Map(withTrace.map((e) => [e.traceId, e])).values()];
  const resolved = await Promise.all(inPhase.map((e) => traceFound(e.traceId)));
  const unresolved = inPhase.filter((_, index) => !resolved[index]);
  const atKill = (e: StoredExemplar) => `${((e.timestamp * 1000 - killedAt) / 1000).toFixed(1)} s`;
  console.log(
    `      exemplars stored during phase 2: ${inPhase.length - unresolved.length} of ${inPhase.length} resolve (${percent(inPhase.length - unresolved.length, inPhase.length)}); ` +
      `unresolved: ${unresolved.map((e) => `${route(e.traceId) === killedEndpoint ? KILLED : 'other'} at ${atKill(e)}`).join(', ') || 'none'} (relative to the kill)`,
  );
  check(
    inPhase.length > 0 &&
      unresolved.every((e) => route(e.traceId) === killedEndpoint && e.timestamp * 1000 >= killedAt - 6000 && e.timestamp * 1000 < killedAt + 1000),
    `8. the exemplars that do not resolve (${unresolved.length}) are traces ${KILLED} held when it was killed`,
  );
}

/** Remote write carries every exemplar: the long-term store holds the scraping Prometheus's exemplars, no more, no less. */
async function compareStores(since: number): Promise<void> {
  const windowEnd = Date.now() / 1000 - 10; // remote write sends within seconds; leave the last 10 s out
  const keyed = async (prometheus: PrometheusApi) =>
    (await storedExemplars(prometheus, EXEMPLAR_SELECTOR, (Date.now() - since) / 1000))
      .filter((e) => e.timestamp >= since / 1000 && e.timestamp < windowEnd)
      .map((e) => `${e.series.__name__}{route=${e.series.route},status_code=${e.series.status_code},le=${e.series.le}} ${e.traceId} ${e.timestamp}`)
      .sort();
  const [scraped, remote] = await Promise.all([keyed(scraping), keyed(longterm)]);
  const traceIds = (keys: string[]) => new Set(keys.map((key) => key.split(' ')[1]));
  const sameIds = traceIds(scraped).size === traceIds(remote).size && [...traceIds(scraped)].every((id) => traceIds(remote).has(id));
  check(
    scraped.length > 0 && JSON.stringify(scraped) === JSON.stringify(remote),
    `9. exemplars in the long-term Prometheus equal the scraping one's over the run: ${remote.length} vs ${scraped.length} (series, trace ID, timestamp); trace IDs ${sameIds ? 'identical' : 'differ'} (${traceIds(remote).size})`,
  );
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<number> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  const jaeger = join(peerDir('jaeger'), 'jaeger');
  const unmapHosts = mapHostNames();
  const volumeDirs = new Map<string, string>();
  const programs: Program[] = [];
  try {
    // The scale topology as Compose resolves it with scale.env, as `make up-scale` runs it.
    const { compose, prometheusDir, launch } = composeStack([join(ROOT, 'scale.env')], programs, volumeDirs);
    const traceStore = new Program('tempo-stand-in-jaeger', jaeger, ['--config', join(ROOT, 'e2e/jaeger.yaml')]);
    programs.push(traceStore);
    await traceStore.waitReady('http://tempo:16686/api/services');
    const samplers = new Map(SAMPLERS.map((name) => [name, launch(name)]));
    for (const [name, program] of samplers) await program.waitReady(`http://${name}:13133/`);
    await launch('otel-collector', 'otel-collector-gateway').waitReady('http://otel-collector:13133/');
    await launch('app').waitReady('http://app:8080/ready');
    await launch('prometheus-longterm').waitReady(`${LONGTERM}/-/ready`);
    await launch('prometheus').waitReady(`${SCRAPING}/-/ready`);
    console.log(`scale topology: otel-collector ${(compose.services['otel-collector']!.command ?? []).join(' ')}`);
    checkHealthchecks(compose, prometheusDir, [...SAMPLERS, 'otel-collector', 'prometheus-longterm', 'prometheus']);

    const since = Date.now();
    await steadyPhase(since);
    await killPhase(launch, samplers);
    await compareStores(since);
  } finally {
    for (const program of programs.reverse()) await program.stop();
    unmapHosts();
    for (const directory of volumeDirs.values()) rmSync(directory, { recursive: true, force: true });
  }
  console.log(`e2e scale: ${passed} passed, ${failures.length} failed`);
  if (failures.length > 0) console.log(`the programs' logs are in ${LOGS}`);
  return failures.length > 0 ? 1 : 0;
}

exitWith(main);
