// The scale profile proven without Docker (`make e2e` runs it after e2e/run.ts; `node --test e2e/scale.ts`): the
// gateway Collector, two tail-sampling Collectors, the scraping Prometheus and the long-term one (Mimir's stand-in)
// run the commands docker-compose.yml gives them with scale.env, files unedited, beside the service and Jaeger
// (Tempo's stand-in). Phase 1, steady load: every exemplar in the long-term Prometheus resolves, both samplers take
// a share, 10% of ordinary traces are kept. Phase 2: one sampler is killed (SIGKILL) for 20 s under load, and what
// happens to the traces routed to it is measured. Last: the long-term Prometheus holds exactly the scraping one's
// exemplars. Each phase does its work in its `before()`, and each check is a test.
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { storedExemplars } from '../scripts/doctor.ts';
import type { Sample } from '../scripts/load.ts';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import { ROOT } from '../harness/root.ts';
import { LOGS, type Program, WORK } from './program.ts';
import { EXEMPLAR_SELECTOR, expectPass, exemplarsResolve, ordinaryTracesKept, resolveExemplars, runLoad, SLOW_SECONDS, Stack, traceFound } from './stack.ts';

const LONGTERM = 'http://prometheus-longterm:9090';
const SCRAPING = 'http://prometheus:9090';
const longterm = new PrometheusApi(LONGTERM);
const scraping = new PrometheusApi(SCRAPING);
const SAMPLERS = ['otel-sampler-1', 'otel-sampler-2'] as const;
const KILLED = SAMPLERS[1];
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

const mustKeep = (sample: Sample) => sample.traceId !== undefined && (sample.status !== 200 || sample.seconds >= SLOW_SECONDS);
const percent = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;

async function counterBy(query: string): Promise<Map<string, number>> {
  return new Map((await scraping.query(query)).map((sample) => [sample.metric.instance ?? '', Number(sample.value[1])]));
}

// ---------------------------------------------------------------------------------------------- the suite

let stack: Stack | undefined;
let samplers = new Map<string, Program>();
/** When phase 1 began (epoch milliseconds). */
let since = 0;

before(async () => {
  // The scale topology as Compose resolves it with scale.env, as `make up-scale` runs it.
  stack = new Stack([join(ROOT, 'scale.env')]);
  await stack.startTraceStore();
  // The gateway keeps config.yaml's logs pipeline, to Loki: its stand-in answers, so no export fails here.
  await stack.startLogStore();
  samplers = new Map(SAMPLERS.map((name) => [name, stack!.launch(name)]));
  for (const [name, program] of samplers) await program.waitReady(`http://${name}:13133/`);
  await stack.launch('otel-collector', 'otel-collector-gateway').waitReady('http://otel-collector:13133/');
  await stack.launch('app').waitReady('http://app:8080/ready');
  await stack.launch('prometheus-longterm').waitReady(`${LONGTERM}/-/ready`);
  await stack.launch('prometheus').waitReady(`${SCRAPING}/-/ready`);
  console.log(`scale topology: otel-collector ${(stack.compose.services['otel-collector']!.command ?? []).join(' ')}`);
  since = Date.now();
});

after(async () => {
  await stack?.close();
  console.log(`the programs' logs are in ${LOGS}`);
});

test("0. each service's own healthcheck passes against it", (t) => expectPass(t, stack!.healthchecks([...SAMPLERS, 'otel-collector', 'prometheus-longterm', 'prometheus'])));

describe('phase 1: 40 s of baseline and spike load through the gateway', () => {
  let samples: Sample[] = [];

  before(async () => {
    // 40 s, as e2e/run.ts: enough ordinary (unmarked) traces for the kept-share check.
    samples = await runLoad(40, join(WORK, 'samples-steady.jsonl'), ['--spike-start', '12', '--spike-duration', '10', '--spike-latency-ms', '1200']);
    await sleep(15_000); // tail-sampling decisions, export batches, two scrapes and a remote-write round
  });

  test('7. each sampler takes about half of the spans, and together all the gateway received', async (t) => {
    // The Collector's counters carry no _total suffix in its Prometheus text; OpenMetrics scrapes would add one.
    const acceptedSpans = (job: string) => counterBy(`sum by (instance) ({__name__=~"otelcol_receiver_accepted_spans(_total)?", job="${job}"})`);
    const accepted = await acceptedSpans('otel-sampler');
    const total = [...accepted.values()].reduce((sum, value) => sum + value, 0);
    const shares = SAMPLERS.map((name) => (accepted.get(`${name}:8888`) ?? 0) / Math.max(1, total));
    const gateway = (await acceptedSpans('otel-collector')).get('otel-collector:8888') ?? 0;
    expectPass(t, {
      passed: shares.every((share) => share >= 0.35 && share <= 0.65) && total === gateway,
      message: `spans accepted by each sampler (its own otelcol_receiver_accepted_spans): ${SAMPLERS.map((name, index) => `${name} ${accepted.get(`${name}:8888`)} (${(100 * shares[index]!).toFixed(1)}%)`).join(', ')}; gateway received ${gateway}`,
    });
  });

  test("2. every exemplar in the long-term Prometheus (remote write) has its trace in the trace store", async (t) => {
    const exemplars = await storedExemplars(longterm, EXEMPLAR_SELECTOR, (Date.now() - since) / 1000);
    t.diagnostic(`${exemplars.length} exemplars in the long-term Prometheus (remote write)`);
    expectPass(t, await exemplarsResolve(exemplars));
  });

  test("2. ordinary traces are kept at about the Collector's 10%", async (t) => expectPass(t, await ordinaryTracesKept(samples)));
});

interface Window {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

describe(`phase 2: ${PHASE2_SECONDS} s of load; ${KILLED} killed (SIGKILL) at ${KILL_AT_SECONDS} s, back ${DOWN_SECONDS} s later`, () => {
  const route = routeOf(SAMPLERS.map((name) => `${name}:4317`));
  const killedEndpoint = `${KILLED}:4317`;
  let samples: Sample[] = [];
  let started = 0;
  let killedAt = 0;
  let restartedAt = 0;
  /** Whether each error and slow trace (always kept by policy) is in the trace store. */
  let found = new Map<string, boolean>();

  before(async () => {
    started = Date.now();
    const loading = runLoad(PHASE2_SECONDS, join(WORK, 'samples-kill.jsonl'), ['--spike-duration', '0']);
    await sleep(KILL_AT_SECONDS * 1000);
    killedAt = Date.now();
    await samplers.get(KILLED)!.kill();
    await sleep(DOWN_SECONDS * 1000);
    restartedAt = Date.now();
    await stack!.launch(KILLED, `${KILLED}-restarted`).waitReady(`http://${KILLED}:13133/`);
    samples = await loading;
    await sleep(15_000);

    found = new Map(await Promise.all(samples.filter(mustKeep).map(async (sample) => [sample.traceId!, await traceFound(sample.traceId!)] as const)));
    // The sampler holds a trace from its first span until its next tick after the root
    // (decision_wait_after_root_received), then up to 200 ms in the batch processor: traces that ended within 5 s
    // before the kill were in its memory.
    const windows: Window[] = [
      { name: 'before the kill', from: started, to: killedAt - 5000 },
      { name: 'in its memory when killed (ended < 5 s before)', from: killedAt - 5000, to: killedAt },
      { name: 'while it was down', from: killedAt, to: restartedAt },
      { name: 'after it was back', from: restartedAt, to: Infinity },
    ];
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
  });

  test(`8. every lost error/slow trace was routed to ${KILLED} (the exporter's ring, recomputed)`, (t) => {
    const lost = samples.filter((sample) => mustKeep(sample) && !found.get(sample.traceId!));
    const elsewhere = lost.filter((sample) => route(sample.traceId!) !== killedEndpoint).length;
    expectPass(t, { passed: elsewhere === 0, message: `lost: ${lost.length}, routed elsewhere: ${elsewhere}` });
  });

  test(`8. error/slow traces routed to ${KILLED} while it was down are held in the gateway's queue and delivered when it is back`, (t) => {
    const down = samples.filter((sample) => mustKeep(sample) && route(sample.traceId!) === killedEndpoint && sample.endedAt >= killedAt && sample.endedAt < restartedAt);
    const downStored = down.filter((sample) => found.get(sample.traceId!)).length;
    expectPass(t, { passed: down.length > 0 && downStored === down.length, message: `delivered: ${downStored} of ${down.length}` });
  });

  test(`8. the exemplars that do not resolve are traces ${KILLED} held when it was killed`, async (t) => {
    const exemplars = await storedExemplars(longterm, EXEMPLAR_SELECTOR, (Date.now() - started) / 1000);
    const resolution = await resolveExemplars(exemplars.filter((e) => e.timestamp * 1000 >= started));
    const unresolved = resolution.dangling;
    const atKill = (e: { timestamp: number }) => `${((e.timestamp * 1000 - killedAt) / 1000).toFixed(1)} s`;
    expectPass(t, {
      passed:
        resolution.checked > 0 &&
        resolution.unanswered === 0 &&
        unresolved.every((e) => route(e.traceId) === killedEndpoint && e.timestamp * 1000 >= killedAt - 6000 && e.timestamp * 1000 < killedAt + 1000),
      message:
        `exemplars stored during phase 2: ${resolution.resolved} of ${resolution.checked} resolve (${percent(resolution.resolved, resolution.checked)}); ` +
        `unresolved (${unresolved.length}): ${unresolved.map((e) => `${route(e.traceId) === killedEndpoint ? KILLED : 'other'} at ${atKill(e)}`).join(', ') || 'none'} (relative to the kill)` +
        (resolution.unanswered > 0 ? `; ${resolution.unanswered} lookups unanswered` : ''),
    });
  });
});

test("9. the long-term Prometheus holds exactly the scraping one's exemplars over the run (remote write carries every one)", async (t) => {
  const windowEnd = Date.now() / 1000 - 10; // remote write sends within seconds; leave the last 10 s out
  const keyed = async (prometheus: PrometheusApi) =>
    (await storedExemplars(prometheus, EXEMPLAR_SELECTOR, (Date.now() - since) / 1000))
      .filter((e) => e.timestamp >= since / 1000 && e.timestamp < windowEnd)
      .map((e) => `${e.series.__name__}{route=${e.series.route},status_code=${e.series.status_code},le=${e.series.le}} ${e.traceId} ${e.timestamp}`)
      .sort();
  const [scraped, remote] = await Promise.all([keyed(scraping), keyed(longterm)]);
  const [scrapedIds, remoteIds] = [scraped, remote].map((keys) => new Set(keys.map((key) => key.split(' ')[1]))) as [Set<string | undefined>, Set<string | undefined>];
  const sameIds = scrapedIds.size === remoteIds.size && [...scrapedIds].every((id) => remoteIds.has(id));
  expectPass(t, {
    passed: scraped.length > 0 && JSON.stringify(scraped) === JSON.stringify(remote),
    message: `${remote.length} vs ${scraped.length} (series, trace ID, timestamp); trace IDs ${sameIds ? 'identical' : 'differ'} (${remoteIds.size})`,
  });
});
