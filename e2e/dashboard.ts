// The dashboard's annotations against the real Prometheus of the e2e run, asked the way Grafana asks: a range query
// at the annotation's step, points above 0 merged into regions as @grafana/prometheus 13.2.3 does
// (src/annotations.ts: points no further apart than the step form one region). The fault switch's region must
// cover e2e's spike and nothing else; the HighP99Latency alert's series must carry the labels the titles name,
// and its firing must show as a region.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDashboard } from '../scripts/dashboard.ts';
import type { Sample } from '../scripts/load.ts';

type Check = (condition: boolean, message: string) => void;
interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function queryRange(prometheus: string, expr: string, start: number, end: number, step: string): Promise<RangeSeries[]> {
  const query = new URLSearchParams({ query: expr, start: String(start), end: String(end), step });
  const body = (await (await fetch(`${prometheus}/api/v1/query_range?${query}`)).json()) as { status: string; error?: string; data: { result: RangeSeries[] } };
  if (body.status !== 'success') throw new Error(`query_range ${expr}: ${body.error}`);
  return body.data.result;
}

/** Grafana's regions: consecutive points above 0 no more than `stepSeconds` apart, as [from, to] in seconds. */
function annotationRegions(series: RangeSeries[], stepSeconds: number): [number, number][] {
  return series.flatMap(({ values }) => {
    const regions: [number, number][] = [];
    for (const [time] of values.filter(([, value]) => Number(value) > 0)) {
      const last = regions.at(-1);
      if (last !== undefined && last[1] + stepSeconds >= time) last[1] = time;
      else regions.push([time, time]);
    }
    return regions;
  });
}

const seconds = (step: string) => Number(/^(\d+)s$/.exec(step)![1]);

export async function checkDashboardAnnotations(prometheus: string, samples: Sample[], check: Check): Promise<void> {
  const [fault, alert] = buildDashboard().annotations!.list!;
  const spike = samples.filter((sample) => sample.phase === 'spike');
  // The load script turns the switch on as the spike begins and off as it ends (scripts/load.ts, setFault); a
  // request belongs to the phase it was sent in.
  const sentAt = spike.map((sample) => sample.endedAt - sample.seconds * 1000);
  const on = Math.min(...sentAt) / 1000;
  const off = Math.max(...sentAt) / 1000;
  const start = Math.floor(Math.min(...samples.map((sample) => sample.endedAt)) / 1000) - 30;
  const end = Math.ceil(Date.now() / 1000);

  const step = seconds(fault!.step!);
  const regions = annotationRegions(await queryRange(prometheus, fault!.expr!, start, end, fault!.step!), step);
  // A scrape every 5 s and a step of 5 s: the region starts within two of them of the switch, and ends as late.
  const slack = 2 * step;
  const matches = regions.length === 1 && regions[0]![0] >= on - 1 && regions[0]![0] <= on + slack && regions[0]![1] >= off - slack && regions[0]![1] <= off + slack;
  const shown = regions.map(([from, to]) => `${(from - on).toFixed(0)}..${(to - on).toFixed(0)} s`).join(', ') || 'none';
  check(matches, `7. fault-switch annotation: one region while the switch was on (${shown} after it went on; spike lasted ${(off - on).toFixed(0)} s), nothing before or after`);

  // The alert's series as Prometheus writes them (pending first, firing after `for: 1m`): the labels the annotation
  // selects on and names in its title must be there.
  const alertSeries = await queryRange(prometheus, 'ALERTS{alertname="HighP99Latency"}', start, end, alert!.step!);
  const states = [...new Set(alertSeries.map((series) => series.metric.alertstate))].sort();
  check(
    alertSeries.length > 0 && alertSeries.every((series) => series.metric.route !== undefined),
    `7. HighP99Latency's ALERTS series carry alertstate and route (${states.join(', ') || 'none'}; routes ${[...new Set(alertSeries.map((series) => series.metric.route))].join(', ')})`,
  );
  // It fires after a minute above 2 s: about 75 s into the run, while the last minute's rate still holds the load.
  const deadline = Date.now() + 45_000;
  let firing: [number, number][] = [];
  while (firing.length === 0 && Date.now() < deadline) {
    firing = annotationRegions(await queryRange(prometheus, alert!.expr!, start, Math.ceil(Date.now() / 1000), alert!.step!), seconds(alert!.step!));
    if (firing.length === 0) await sleep(2_000);
  }
  const pendingSince = Math.min(...alertSeries.flatMap((series) => series.values.map(([time]) => time)));
  check(firing.length > 0, `7. HighP99Latency annotation: ${firing.length} firing region(s), from ${firing[0] ? (firing[0][0] - pendingSince).toFixed(0) : '-'} s after it went pending (rules.yml: for 1m)`);
}
