// Generates grafana/dashboards/latency.json from typed code (Grafana's own dashboard types from @grafana/schema),
// so a misspelt field fails `tsc` instead of silently doing nothing in Grafana.
//   node scripts/dashboard.ts          writes the JSON
//   node scripts/dashboard.ts --check  fails if the committed JSON differs from what this code generates
import type { Dashboard, DataQuery, Panel } from '@grafana/schema';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = fileURLToPath(new URL('../grafana/dashboards/latency.json', import.meta.url));

/** The Prometheus datasource's query model (it lives in Grafana's Prometheus plugin, not in @grafana/schema). */
export type PrometheusQuery = Pick<DataQuery, 'refId'> & {
  datasource: typeof PROMETHEUS;
  expr: string;
  legendFormat: string;
  /** Ask Grafana to fetch and draw the exemplars of the series this expression reads. */
  exemplar: boolean;
  range: true;
};

const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' } as const;
const JOB = 'job="exemplar-demo"';

function query(refId: string, expr: string, legendFormat: string, exemplar: boolean): PrometheusQuery {
  return { refId, datasource: PROMETHEUS, expr, legendFormat, exemplar, range: true };
}

/** p50, p95 and p99 of the request duration, each with exemplars: the dots above the p99 line are the spikes. */
function latencyQueries(selector: string, by: string): PrometheusQuery[] {
  return (['0.50', '0.95', '0.99'] as const).map((quantile, index) =>
    query(
      String.fromCharCode(65 + index),
      `histogram_quantile(${quantile}, sum by (${by}) (rate(http_request_duration_seconds_bucket{${selector}}[$__rate_interval])))`,
      `p${Number(quantile) * 100}${by === 'le' ? '' : ' {{route}}'}`,
      true,
    ),
  );
}

/** A time-series panel; `targets` stays typed as Prometheus queries so the tests can read them back. */
type TimeSeriesPanel = Omit<Panel, 'targets' | 'title' | 'datasource'> & {
  title: string;
  datasource: typeof PROMETHEUS;
  targets: PrometheusQuery[];
};

function timeseries(
  id: number,
  title: string,
  unit: string,
  gridPos: Panel['gridPos'],
  targets: PrometheusQuery[],
  extra: Pick<Panel, 'repeat' | 'repeatDirection' | 'maxPerRow'> = {},
): TimeSeriesPanel {
  const panel = {
    id,
    type: 'timeseries',
    title,
    datasource: PROMETHEUS,
    gridPos,
    targets,
    fieldConfig: {
      defaults: { unit, custom: { lineWidth: 2, fillOpacity: 10, showPoints: 'never' } },
      overrides: [],
    },
    options: { legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
    ...extra,
  } satisfies Panel;
  return panel;
}

export function buildDashboard(): Omit<Dashboard, 'panels'> & { panels: TimeSeriesPanel[] } {
  return {
    uid: 'exemplar-demo-latency',
    title: 'Exemplar demo: latency',
    description: 'p50/p95/p99 latency with exemplars: click a dot to open the trace of that request in Tempo.',
    tags: ['exemplar-demo'],
    timezone: 'browser',
    editable: false,
    graphTooltip: 1,
    schemaVersion: 41,
    time: { from: 'now-15m', to: 'now' },
    refresh: '5s',
    templating: {
      list: [
        {
          name: 'route',
          label: 'Route',
          type: 'query',
          datasource: PROMETHEUS,
          query: `label_values(http_request_duration_seconds_count{${JOB}}, route)`,
          refresh: 2,
          multi: true,
          includeAll: true,
          current: { text: 'All', value: '$__all' },
          sort: 1,
        },
      ],
    },
    panels: [
      timeseries(1, 'Latency, all routes: p50 / p95 / p99 (dots are exemplars: click one for its trace)', 's', { x: 0, y: 0, w: 24, h: 10 }, latencyQueries(JOB, 'le')),
      timeseries(2, 'Latency of $route', 's', { x: 0, y: 10, w: 12, h: 9 }, latencyQueries(`${JOB}, route=~"$route"`, 'le, route'), {
        repeat: 'route',
        repeatDirection: 'h',
        maxPerRow: 2,
      }),
      timeseries(3, 'Request rate by route', 'reqps', { x: 0, y: 19, w: 8, h: 8 }, [
        query('A', `sum by (route) (rate(http_requests_total{${JOB}}[$__rate_interval]))`, '{{route}}', true),
      ]),
      timeseries(4, 'Server errors by route and type (dots are exemplars)', 'reqps', { x: 8, y: 19, w: 8, h: 8 }, [
        query('A', `sum by (route, error_type) (rate(http_errors_total{${JOB}}[$__rate_interval]))`, '{{route}} {{error_type}}', true),
      ]),
      timeseries(5, 'Share of requests slower than 1 s', 'percentunit', { x: 16, y: 19, w: 8, h: 8 }, [
        query(
          'A',
          // Prometheus 3 stores the bucket bound as "1.0", Prometheus 2 as "1": the regex matches both.
          `1 - sum by (route) (rate(http_request_duration_seconds_bucket{${JOB}, le=~"1(\\\\.0)?"}[$__rate_interval])) / sum by (route) (rate(http_request_duration_seconds_count{${JOB}}[$__rate_interval]))`,
          '{{route}}',
          false,
        ),
      ]),
    ],
  };
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    if (readFileSync(DASHBOARD_FILE, 'utf8') !== renderDashboard()) {
      console.error(`${DASHBOARD_FILE} is out of date: run node scripts/dashboard.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(DASHBOARD_FILE, renderDashboard());
    console.log(`wrote ${DASHBOARD_FILE}`);
  }
}
