// Generates grafana/dashboards/latency.json from typed code: the builders of @grafana/grafana-foundation-sdk for
// every panel, query, variable, annotation and link, so no JSON is shaped by hand here. test/dashboard.test.ts
// checks at compile time that what these builders produce is a dashboard of Grafana 13.2.3's schema
// (@grafana/schema), and the generated file against Grafana's and the Collector connectors' sources and
// Prometheus's parser.
//   node scripts/dashboard.ts          writes the JSON
//   node scripts/dashboard.ts --check  fails if the committed JSON differs from what this code generates
//
// Facts about Grafana 13 this file relies on. Read at 13.2.3 in its npm packages (@grafana/prometheus,
// @grafana/data and @grafana/schema 13.2.3, built from commit 8ea0d7e3):
// - Prometheus annotations read `expr`, `step`, `titleFormat`, `textFormat`, `tagKeys`, `useValueForTime`; every
//   point above 0 is "on", and points no further apart than `step` (default 60s) merge into one region
//   (@grafana/prometheus, src/annotations.ts).
// - Data links are {title, url, targetBlank} (@grafana/data, types/dataLink.d.ts); `${__from}`, `${__to}` and
//   `${__field.labels.<name>}` are filled in on click, formatted by the VariableFormatID after a colon.
// Read in Grafana's source (public/app, not published on npm; newest stored version):
// - Explore URLs: `/explore?schemaVersion=1&panes={"<3 characters, a letter among them>": {datasource, queries,
//   range}}` (features/explore/hooks/useStateSync/migrators/v1.ts).
// - An annotation's panel filter names panel ids, and repeated clones count as their original
//   (features/dashboard-scene/utils/utils.ts, getPanelIdForVizPanel).
import { VariableFormatID } from '@grafana/schema';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as sdkDashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as loki from '@grafana/grafana-foundation-sdk/loki';
import * as nodegraph from '@grafana/grafana-foundation-sdk/nodegraph';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as tempo from '@grafana/grafana-foundation-sdk/tempo';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SLOW_REQUEST_MESSAGE } from '../src/http/middleware/telemetry.ts';

export const DASHBOARD_FILE = fileURLToPath(new URL('../grafana/dashboards/latency.json', import.meta.url));

/** The provisioned datasources (grafana/provisioning/datasources/datasources.yaml fixes their uids). */
const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' } as const;
const TEMPO = { type: 'tempo', uid: 'tempo' } as const;
const LOKI = { type: 'loki', uid: 'loki' } as const;
const SERVICE = 'exemplar-demo';
const JOB = `job="${SERVICE}"`;
/** The Collector keeps every trace slower than this (otel-collector/config.yaml, latency policy). */
const SLOW = '500ms';

/** Panel ids the annotations are drawn on; the span-metrics panel is a latency panel too. */
const ID = { text: 1, allRoutes: 2, perRoute: 3, serviceMap: 4, rate: 5, errors: 6, slowShare: 7, tempoRow: 8, spanMetrics: 9, slowRequestLogs: 10 } as const;
const LATENCY_PANELS = [ID.allRoutes, ID.perRoute, ID.spanMetrics];

// ---------------------------------------------------------------------------------------------- links

/** A Grafana variable, filled in when the link is clicked: kept out of the URL encoding. */
const variable = (name: string, format?: VariableFormatID) => `\${${format === undefined ? name : `${name}:${format}`}}`;

/** The URL of a TraceQL search in Explore over the dashboard's time range. */
function exploreTraceQl(traceql: string): string {
  const query = new tempo.DataqueryBuilder().refId('A').datasource(TEMPO).queryType('traceql').query(traceql).limit(20).tableType(tempo.SearchTableType.Traces).build();
  const pane = { datasource: TEMPO.uid, queries: [query], range: { from: variable('__from'), to: variable('__to') } };
  const encoded = encodeURIComponent(JSON.stringify({ tmp: pane }));
  // Grafana substitutes `${...}` before opening the link, so the variables stay readable in the URL.
  return `/explore?schemaVersion=1&orgId=1&panes=${encoded.replace(/%24%7B(.*?)%7D/g, (_, name: string) => `\${${decodeURIComponent(name)}}`)}`;
}

/** TraceQL for this service's traces, optionally narrowed by more span conditions. */
function traceQl(...conditions: string[]): string {
  return `{${[`resource.service.name="${SERVICE}"`, ...conditions].join(' && ')}}`;
}

/**
 * The SDK's link and annotation builders default `placement` to "inControlsMenu", which in Grafana 13 moves the
 * link, or the annotation's toggle, into the dashboard controls menu. Left out, both show above the panels.
 */
function shown<T extends { placement?: unknown }>(builder: { build(): T }): { build(): Omit<T, 'placement'> } {
  const { placement: _inControlsMenu, ...rest } = builder.build();
  return { build: () => rest };
}

/** A link to `url` (Grafana reads title, url and targetBlank of a data link; the other keys are the SDK's). */
function link(title: string, url: string, tooltip = '') {
  return shown(new dashboard.DashboardLinkBuilder(title).type(dashboard.DashboardLinkType.Link).url(url).tooltip(tooltip).targetBlank(false));
}

// ---------------------------------------------------------------------------------------------- queries

function promQuery(refId: string, expr: string, legendFormat: string, exemplar: boolean): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().refId(refId).datasource(PROMETHEUS).expr(expr).legendFormat(legendFormat).exemplar(exemplar).range();
}

/**
 * p50, p95 and p99 of the request duration, exemplars asked for once. Prometheus answers an exemplar query with the
 * exemplars of every series the expression selects, the same buckets for all three quantiles, and
 * @grafana/prometheus 13.2.3 runs every one asked for (datasource.ts, shouldRunExemplarQuery): three would draw each
 * dot three times. Asked by the first query, because once a query editor has loaded the histogram names, that
 * function skips the exemplar query of a target whose earlier visible targets read the same histogram.
 * A bucket exemplar's value is its request's duration, in seconds like the quantiles: each dot sits at its request's
 * latency, the slow ones above the p99 line. Failed requests are observed here too, so their traces are one click
 * away as well.
 */
function latencyQueries(selector: string, by: string): prometheus.DataqueryBuilder[] {
  return (['0.50', '0.95', '0.99'] as const).map((quantile, index) =>
    promQuery(
      String.fromCharCode(65 + index),
      `histogram_quantile(${quantile}, sum by (${by}) (rate(http_request_duration_seconds_bucket{${selector}}[$__rate_interval])))`,
      `p${Number(quantile) * 100}${by === 'le' ? '' : ' {{route}}'}`,
      index === 0,
    ),
  );
}

/**
 * The service's slow-request warnings in Loki. service_name and severity_text are the stream labels loki/loki.yaml
 * makes of the record's service.name and level, so the selector reads the index; the line is the record's body
 * (the message), and route and duration_seconds are structured metadata, which line_format can print.
 */
export const SLOW_REQUEST_LOGQL = `{service_name="${SERVICE}", severity_text="warn"} |= "${SLOW_REQUEST_MESSAGE}" | line_format "{{.route}} took {{.duration_seconds}} s"`;

// ---------------------------------------------------------------------------------------------- panels

function timeseriesPanel(id: number, title: string, description: string, unit: string, gridPos: dashboard.GridPos): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .gridPos(gridPos)
    .unit(unit)
    .lineWidth(2)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Right).calcs(['lastNotNull', 'max']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

const INTRO = [
  '**The dots are exemplars**: single requests stored beside the metric with their trace ID, drawn at their own duration on the latency panels (failed requests too). Hover a dot above the p99 line and choose **View trace in Tempo** to see where that request spent its time. The rate panels have no dots: a rate has no single request behind it.',
  '**Shaded regions explain spikes**: red while the fault switch is on (`fault_injection_active`), orange while the `HighP99Latency` alert fires. Make a spike with `make load` (with `ADMIN_TOKEN` set its spike turns the fault switch on) or `POST /admin/faults`.',
  `**Traces without a dot**: the links at the top search Tempo for this service or for requests slower than ${SLOW}; each per-route latency series links to that route's slow traces, each error series to its failed requests.`,
  '**Log lines**: the slow-request panel lists the service\'s warnings from Loki; open a line for **View trace in Tempo**, and from a span in a trace, **Related logs** opens its request\'s lines.',
].join('\n\n');

export function buildDashboard() {
  const slowTraces = (title: string, ...conditions: string[]) => link(title, exploreTraceQl(traceQl(...conditions, `duration > ${SLOW}`)));
  const routeLabel = variable('__field.labels.route', VariableFormatID.PercentEncode);
  const spanNameLabel = variable('__field.labels.span_name', VariableFormatID.PercentEncode);
  const errorTypeLabel = variable('__field.labels.error_type', VariableFormatID.PercentEncode);

  return new dashboard.DashboardBuilder('Exemplar demo: latency')
    .uid('exemplar-demo-latency')
    .description('p50/p95/p99 latency with exemplars: click a dot to open the trace of that request in Tempo.')
    .tags(['exemplar-demo'])
    .timezone('browser')
    .readonly()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-15m', to: 'now' })
    .refresh('5s')
    .links([
      link('Traces of this service in Tempo', exploreTraceQl(traceQl()), 'TraceQL search in Explore, over the dashboard time range'),
      slowTraces(`Traces slower than ${SLOW}`),
    ])
    .withVariable(
      new dashboard.QueryVariableBuilder('route')
        .label('Route')
        .datasource(PROMETHEUS)
        .query(`label_values(http_request_duration_seconds_count{${JOB}}, route)`)
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .multi(true)
        .includeAll(true)
        .current({ text: 'All', value: '$__all' })
        .sort(dashboard.VariableSort.AlphabeticalAsc),
    )
    .annotation(
      shown(new dashboard.AnnotationQueryBuilder()
        .name('Fault switch on')
        .datasource(PROMETHEUS)
        .enable(true)
        .iconColor('red')
        .expr(`fault_injection_active{${JOB}}`)
        // The scrape interval: a 10 s fault between two 60 s steps (the default) would not be drawn at all.
        .step('5s')
        .titleFormat('Fault switch on for {{route}}')
        .textFormat('POST /admin/faults is in force: requests on {{route}} are slowed or failed on purpose.')
        .tagKeys('route')
        .filter(new dashboard.AnnotationPanelFilterBuilder().ids(LATENCY_PANELS))),
    )
    .annotation(
      shown(new dashboard.AnnotationQueryBuilder()
        .name('HighP99Latency firing')
        .datasource(PROMETHEUS)
        .enable(true)
        .iconColor('orange')
        .expr('ALERTS{alertname="HighP99Latency", alertstate="firing"}')
        .step('5s')
        .titleFormat('HighP99Latency firing on {{route}}')
        .textFormat('p99 of {{route}} above 2 s for a minute (prometheus/rules.yml).')
        .tagKeys('route,severity')
        .filter(new dashboard.AnnotationPanelFilterBuilder().ids(LATENCY_PANELS))),
    )
    .withPanel(new text.PanelBuilder().id(ID.text).title('How to read this dashboard').description('What the dots, the shaded regions and the links lead to.').gridPos({ x: 0, y: 0, w: 24, h: 4 }).mode(text.TextMode.Markdown).content(INTRO))
    .withPanel(
      timeseriesPanel(ID.allRoutes, 'Latency, all routes: p50 / p95 / p99 (dots are exemplars)', 'Request duration quantiles of the service from http_request_duration_seconds; each dot is one request, click it for its trace.', 's', { x: 0, y: 4, w: 16, h: 8 })
        .targets(latencyQueries(JOB, 'le'))
        .dataLinks([slowTraces(`Traces slower than ${SLOW} in Tempo`)]),
    )
    .withPanel(
      new nodegraph.PanelBuilder()
        .id(ID.serviceMap)
        .title('Service map (service graph)')
        .description('Built by the Collector from the CLIENT/SERVER span pairs of every request, before tail sampling (traces_service_graph_request_*): user → exemplar-demo → the peers its CLIENT spans name. Node: average response time and request rate; red arc: failed share.')
        .datasource(TEMPO)
        .gridPos({ x: 16, y: 4, w: 8, h: 8 })
        .withTarget(new tempo.DataqueryBuilder().refId('A').datasource(TEMPO).queryType('serviceMap').serviceMapQuery([`{client="${SERVICE}"}`, `{server="${SERVICE}"}`])),
    )
    .withPanel(
      timeseriesPanel(ID.perRoute, 'Latency of $route', 'The same quantiles per route; a series links to that route\'s slow traces in Tempo.', 's', { x: 0, y: 12, w: 12, h: 7 })
        .targets(latencyQueries(`${JOB}, route=~"$route"`, 'le, route'))
        .repeat('route')
        .repeatDirection('h')
        .maxPerRow(2)
        .dataLinks([link(`Traces of this route slower than ${SLOW} in Tempo`, exploreTraceQl(traceQl(`span.http.route="${routeLabel}"`, `duration > ${SLOW}`)))]),
    )
    .withPanel(
      // No exemplars on a rate: a counter's exemplar carries the counter's running total (@prometheus-io/client
      // 0.16), far above any per-second axis, where Grafana would pin every dot to the top edge.
      timeseriesPanel(ID.rate, 'Request rate by route', 'Requests per second from http_requests_total; the requests themselves are the dots of the latency panels.', 'reqps', { x: 0, y: 19, w: 6, h: 6 }).targets([
        promQuery('A', `sum by (route) (rate(http_requests_total{${JOB}}[$__rate_interval]))`, '{{route}}', false),
      ]),
    )
    .withPanel(
      // No exemplars, for the reason given at the request rate; a failed request's duration is observed on the
      // histogram too, so its dot is on the latency panels, and each series here links to its failed traces.
      timeseriesPanel(ID.errors, 'Server errors by route and type', 'Responses of 5xx per second from http_errors_total, by error type; a series links to those failed requests in Tempo.', 'reqps', { x: 6, y: 19, w: 6, h: 6 })
        .targets([promQuery('A', `sum by (route, error_type) (rate(http_errors_total{${JOB}}[$__rate_interval]))`, '{{route}} {{error_type}}', false)])
        .dataLinks([link('Failed requests of this route and type in Tempo', exploreTraceQl(traceQl(`span.http.route="${routeLabel}"`, `span.error.type="${errorTypeLabel}"`)))]),
    )
    .withPanel(
      timeseriesPanel(ID.slowShare, 'Share of requests slower than 1 s', 'A ratio of two histogram series, so no exemplars: a share has no single request behind it.', 'percentunit', { x: 12, y: 19, w: 6, h: 6 }).targets([
        promQuery(
          'A',
          // Prometheus 3 stores the bucket bound as "1.0", Prometheus 2 as "1": the regex matches both.
          `1 - sum by (route) (rate(http_request_duration_seconds_bucket{${JOB}, le=~"1(\\\\.0)?"}[$__rate_interval])) / sum by (route) (rate(http_request_duration_seconds_count{${JOB}}[$__rate_interval]))`,
          '{{route}}',
          false,
        ),
      ]),
    )
    .withPanel(
      new logs.PanelBuilder()
        .id(ID.slowRequestLogs)
        .title('Slow requests: their log lines (Loki)')
        .description('The service\'s slow-request warnings, newest first; open a line and choose View trace in Tempo (the Loki datasource links its trace_id).')
        .datasource(LOKI)
        .gridPos({ x: 18, y: 19, w: 6, h: 6 })
        .withTarget(new loki.DataqueryBuilder().refId('A').datasource(LOKI).expr(SLOW_REQUEST_LOGQL).queryType(loki.LokiQueryType.Range).maxLines(100))
        .showTime(true)
        .showLabels(false)
        .showCommonLabels(false)
        .wrapLogMessage(true)
        .prettifyLogMessage(false)
        .enableLogDetails(true)
        .showLogContextToggle(false)
        .sortOrder(common.LogsSortOrder.Descending)
        .dedupStrategy(common.LogsDedupStrategy.None),
    )
    .withRow(
      new dashboard.RowBuilder('Span metrics: every span, counted by the Collector before tail sampling')
        .id(ID.tempoRow)
        .collapsed(true)
        .gridPos({ x: 0, y: 25, w: 24, h: 1 })
        .withPanel(
          timeseriesPanel(ID.spanMetrics, 'p99 by span name (span metrics)', "Computed by the Collector's span_metrics connector from every span, before tail sampling (traces_span_metrics_duration_seconds). No dots: most of these spans' traces are not kept, so the exemplars are on the service's own panels above.", 's', { x: 0, y: 26, w: 24, h: 8 })
            .targets([
              promQuery(
                'A',
                `histogram_quantile(0.99, sum by (le, span_name) (rate(traces_span_metrics_duration_seconds_bucket{service_name="${SERVICE}"}[$__rate_interval])))`,
                'p99 {{span_name}}',
                false,
              ),
            ])
            .dataLinks([link(`Traces with this span slower than ${SLOW} in Tempo`, exploreTraceQl(traceQl(`name="${spanNameLabel}"`, `duration > ${SLOW}`)))]),
        ),
    )
    .build();
}

export type BuiltPanels = NonNullable<ReturnType<typeof buildDashboard>['panels']>;
type AnyPanel = sdkDashboard.Panel | sdkDashboard.RowPanel;
const isRow = (panel: AnyPanel): panel is sdkDashboard.RowPanel => panel.type === 'row';

/** Every panel, those inside collapsed rows too (Grafana keeps them in the row until it is opened). */
export function allPanels(board: { panels?: BuiltPanels }): AnyPanel[] {
  return (board.panels ?? []).flatMap((panel) => (isRow(panel) ? [panel, ...(panel.panels ?? [])] : [panel]));
}

interface PrometheusTarget {
  readonly panel: string;
  readonly expr: string;
  readonly query: prometheus.Dataquery;
  /** The Collector computes these series from the spans (traces_*); the service writes all others. */
  readonly writtenBy: 'collector' | 'service';
}

/** The Prometheus queries of the panels (annotations and variables are read from the dashboard directly). */
export function prometheusTargets(board: { panels?: BuiltPanels } = buildDashboard()): PrometheusTarget[] {
  return allPanels(board).flatMap((panel) =>
    isRow(panel)
      ? []
      : ((panel.targets ?? []) as prometheus.Dataquery[])
          .filter((query) => query.datasource?.uid === PROMETHEUS.uid)
          .map((query) => ({ panel: panel.title ?? '', expr: query.expr, query, writtenBy: /\btraces_/.test(query.expr) ? 'collector' : 'service' })),
  );
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
