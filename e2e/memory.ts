// Peak RSS of each program e2e runs, sampled from /proc every 250 ms while the demo load runs, against the program's
// mem_limit in docker-compose.yml (goal: below 70% of it). The sampler is a worker thread, so it keeps its pace
// whatever the suite's own thread is busy with.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ResolvedCompose } from '../harness/compose.ts';
import { rssMb } from '../harness/process.ts';
import type { Outcome } from './stack.ts';

interface Watched {
  readonly name: string;
  readonly pid: number;
}
export type Peaks = Record<string, number>;

const MIB = 2 ** 20;
/** The share of its limit a program may use under the demo load. */
const GOAL = 0.7;
/** The e2e programs that run the very program of a Compose service, named as the service (Jaeger only stands in for Tempo). */
export const LIMITED_PROGRAMS = ['app', 'otel-collector', 'prometheus'] as const;

if (!isMainThread) {
  const peaks: Peaks = {};
  const sample = () => {
    for (const { name, pid } of workerData as Watched[]) {
      try {
        peaks[name] = Math.max(peaks[name] ?? 0, rssMb(pid));
      } catch {
        // the program has exited; its peak so far stands
      }
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  parentPort!.once('message', () => {
    clearInterval(timer);
    sample();
    parentPort!.postMessage(peaks);
  });
}

/** Starts sampling; `stop()` resolves with each program's peak RSS in MiB. */
export function watchPeakRss(programs: readonly Watched[]): { stop(): Promise<Peaks> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: programs.map(({ name, pid }) => ({ name, pid })) });
  const peaks = new Promise<Peaks>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const result = await peaks;
      await worker.terminate();
      return result;
    },
  };
}

/** Program `name`'s peak beside its service's mem_limit in docker-compose.yml: passes below the 70% goal. */
export function peakRssWithinLimit(peaks: Peaks, compose: ResolvedCompose, name: (typeof LIMITED_PROGRAMS)[number]): Outcome {
  const peakMib = peaks[name];
  const limitMib = Number(compose.services[name]!.mem_limit) / MIB;
  if (peakMib === undefined) return { passed: false, message: `${name}: no RSS sampled during the load` };
  return {
    passed: peakMib < GOAL * limitMib,
    message: `${name}: peak RSS ${peakMib.toFixed(0)} MiB during the load, ${((100 * peakMib) / limitMib).toFixed(0)}% of its ${limitMib} MiB limit (goal under ${100 * GOAL}%)`,
  };
}

/** The peaks of the programs no Compose limit applies to (the stand-ins), one line each. */
export function standInPeaks(peaks: Peaks): string[] {
  return Object.entries(peaks)
    .filter(([name]) => !(LIMITED_PROGRAMS as readonly string[]).includes(name))
    .map(([name, peakMib]) => `${name}: peak RSS ${peakMib.toFixed(0)} MiB (a stand-in: no Compose limit applies)`);
}
