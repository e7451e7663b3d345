// The dashboard's annotations against the real Prometheus of the e2e run, asked the way Grafana asks: a range query
// at the annotation's step, points above 0 merged into regions as @grafana/prometheus 13.2.3 does
// (src/annotations.ts: points no further apart than the step form one region). The fault switch's region must
// cover e2e's spike and nothing else; the HighP99Latency alert's series must carry the labels the titles name,
// and its firing must show as a region.
import { buildDashboard } from '../scripts/dashboard.ts';
import type { Sample } from '../scripts/load.ts';
import type { PrometheusApi, RangeSeries } from '../scripts/prometheus-api.ts';
import { eventually } from '../harness/eventually.ts';
import type { Outcome } from './stack.ts';

/** Grafana's regions: consecutive points above 0 no more than `stepSeconds` apart, as [from, to] in seconds. */
function annotationRegions(series: readonly RangeSeries[], stepSeconds: number): [number, number][] {
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
const [FAULT, ALERT] = buildDashboard().annotations!.list!;
const now = () => Math.ceil(Date.now() / 1000);

/** Where a range query over the run starts, in seconds: a little before the load's first request ended. */
const runStart = (samples: readonly Sample[]) => Math.floor(Math.min(...samples.map((sample) => sample.endedAt)) / 1000) - 30;

/** The fault switch's annotation: one region, while the load's spike had the switch on, nothing before or after. */
export async function faultSwitchRegion(prometheus: PrometheusApi, samples: readonly Sample[]): Promise<Outcome> {
  const spike = samples.filter((sample) => sample.phase === 'spike');
  // The load script turns the switch on as the spike begins and off as it ends (scripts/load.ts, setFault); a
  // request belongs to the phase it was sent in.
  const sentAt = spike.map((sample) => sample.endedAt - sample.seconds * 1000);
  const on = Math.min(...sentAt) / 1000;
  const off = Math.max(...sentAt) / 1000;

  const step = seconds(FAULT!.step!);
  const regions = annotationRegions(await prometheus.queryRange(FAULT!.expr!, runStart(samples), now(), FAULT!.step!), step);
  // A scrape every 5 s and a step of 5 s: the region starts within two of them of the switch, and ends as late.
  const slack = 2 * step;
  const matches = regions.length === 1 && regions[0]![0] >= on - 1 && regions[0]![0] <= on + slack && regions[0]![1] >= off - slack && regions[0]![1] <= off + slack;
  const shown = regions.map(([from, to]) => `${(from - on).toFixed(0)}..${(to - on).toFixed(0)} s`).join(', ') || 'none';
  return { passed: matches, message: `fault-switch annotation: one region while the switch was on (${shown} after it went on; spike lasted ${(off - on).toFixed(0)} s), nothing before or after` };
}

/** The alert's series as Prometheus writes them (pending first, firing after `for: 1m`). */
const alertSeries = (prometheus: PrometheusApi, samples: readonly Sample[]) => prometheus.queryRange('ALERTS{alertname="HighP99Latency"}', runStart(samples), now(), ALERT!.step!);

/** The labels the alert's annotation selects on and names in its title are on the alert's series. */
export async function alertSeriesLabelled(prometheus: PrometheusApi, samples: readonly Sample[]): Promise<Outcome> {
  const series = await alertSeries(prometheus, samples);
  const states = [...new Set(series.map(({ metric }) => metric.alertstate))].sort();
  return {
    passed: series.length > 0 && series.every(({ metric }) => metric.route !== undefined),
    message: `HighP99Latency's ALERTS series carry alertstate and route (${states.join(', ') || 'none'}; routes ${[...new Set(series.map(({ metric }) => metric.route))].join(', ')})`,
  };
}

/** The alert's annotation shows it firing. */
export async function alertFiringRegion(prometheus: PrometheusApi, samples: readonly Sample[]): Promise<Outcome> {
  // It fires after a minute above 2 s: about 75 s into the run, while the last minute's rate still holds the load.
  const firingRegions = async () => {
    const regions = annotationRegions(await prometheus.queryRange(ALERT!.expr!, runStart(samples), now(), ALERT!.step!), seconds(ALERT!.step!));
    return regions.length > 0 ? regions : undefined;
  };
  const firing = (await eventually(firingRegions, { timeoutMs: 45_000, intervalMs: 2_000 })) ?? [];
  const pendingSince = Math.min(...(await alertSeries(prometheus, samples)).flatMap((series) => series.values.map(([time]) => time)));
  return {
    passed: firing.length > 0,
    message: `HighP99Latency annotation: ${firing.length} firing region(s), from ${firing[0] ? (firing[0][0] - pendingSince).toFixed(0) : '-'} s after it went pending (rules.yml: for 1m)`,
  };
}
