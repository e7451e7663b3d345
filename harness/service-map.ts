// The PromQL Grafana's Tempo datasource sends to Prometheus for a service map, rebuilt from the plugin's source
// (grafana/grafana-tempo-datasource: src/graphTransform.ts `serviceMapMetrics`, src/datasource.ts
// `makePromServiceMapRequest`), so that the dashboard test checks its names and e2e runs it against the real
// Prometheus. Per metric, two instant queries: the rate summed by client and server over `$__range`, and the
// edges' connection types; each over every selector of the query's serviceMapQuery, joined with OR. (No service
// namespaces and classic histograms: the datasource's serviceMapIncludeNamespace and native-histogram options are
// off here.) The span-name table Explore shows beside the map (rateMetric, errorRateMetric, durationMetric) asks for
// Tempo's own span-metric names (traces_spanmetrics_*), which nothing writes here: that table stays empty; the map
// and the dashboard's node graph do not use it.
import { allPanels, buildDashboard, type BuiltPanels } from '../scripts/dashboard.ts';

/** graphTransform.ts `serviceMapMetrics`, in its order. */
export const SERVICE_MAP_METRICS = [
  'traces_service_graph_request_server_seconds_sum',
  'traces_service_graph_request_total',
  'traces_service_graph_request_failed_total',
  'traces_service_graph_request_server_seconds_bucket',
] as const;

export interface ServiceMapQuery {
  readonly metric: (typeof SERVICE_MAP_METRICS)[number];
  /** `rate`: the sum by client and server (the plugin's refId is the metric); `edges`: its `_labels` query. */
  readonly kind: 'rate' | 'edges';
  readonly expr: string;
}

/** makePromServiceMapRequest's queries for one target's serviceMapQuery. */
export function serviceMapQueries(serviceMapQuery: string | readonly string[] | undefined): ServiceMapQuery[] {
  const selectors = typeof serviceMapQuery === 'string' || serviceMapQuery === undefined ? [serviceMapQuery ?? ''] : serviceMapQuery;
  return SERVICE_MAP_METRICS.flatMap((metric) => [
    { metric, kind: 'rate' as const, expr: selectors.map((selector) => `sum by (client, server) (rate(${metric}${selector}[$__range]))`).join(' OR ') },
    { metric, kind: 'edges' as const, expr: selectors.map((selector) => `group by (client, connection_type, server) (${metric}${selector})`).join(' OR ') },
  ]);
}

/** The service-map queries of every node-graph panel of `board`. */
export function dashboardServiceMapQueries(board: { panels?: BuiltPanels } = buildDashboard()): ServiceMapQuery[] {
  return allPanels(board)
    .filter((panel) => panel.type === 'nodeGraph')
    .flatMap((panel) => ('targets' in panel ? (panel.targets ?? []) : []) as { serviceMapQuery?: string | string[] }[])
    .flatMap(({ serviceMapQuery }) => serviceMapQueries(serviceMapQuery));
}
