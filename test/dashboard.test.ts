// The dashboard (scripts/dashboard.ts → grafana/dashboards/latency.json), checked as hard as this machine allows:
// Grafana and Tempo cannot run here, so its shape is checked against Grafana 13.2.3's schema types at compile time
// (`npm run check`), its keys against Grafana's source, every PromQL expression with the real Prometheus parser,
// and the span-metric and service-graph names against the Collector connectors' source (e2e/run.ts checks the data
// of both from the real connectors, and the service map's queries as Grafana builds them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defaultDashboard, type Dashboard as GrafanaDashboard } from '@grafana/schema';
import type { Options as LogsOptions } from '@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen';
import type { Options as NodeGraphOptions } from '@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen';
import type { Options as TextOptions } from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as sdkDashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as sdkLogs from '@grafana/grafana-foundation-sdk/logs';
import type * as sdkNodeGraph from '@grafana/grafana-foundation-sdk/nodegraph';
import type * as sdkText from '@grafana/grafana-foundation-sdk/text';
import type * as sdkTimeSeries from '@grafana/grafana-foundation-sdk/timeseries';
import { parser as traceQlParser } from '@grafana/lezer-traceql';
import { SpanKind } from '@opentelemetry/api';
import { parse } from 'yaml';
import { DASHBOARD_FILE, allPanels, buildDashboard, prometheusTargets, renderDashboard, type BuiltPanels } from '../scripts/dashboard.ts';
import { Prometheus } from '../harness/prometheus.ts';
import { readProjectFile } from '../harness/root.ts';
import { substituteDashboardVariables } from '../harness/promql.ts';
import { dashboardServiceMapQueries } from '../harness/service-map.ts';
import { scrape, testApp } from '../harness/app.ts';
import { FaultSwitch } from '../src/domain/faults.ts';
import { USERS_PATH } from '../src/http/routes/paths.ts';

// ---------------------------------------------------------------------------------------------- Grafana's schema

/** The JSON a type stands for: enums of two packages differ by name but match by value, methods are not JSON. */
type Json<T> = T extends string
  ? `${T}`
  : T extends number
    ? `${T}` extends `${infer N extends number}` ? N : number
    : T extends boolean | null | undefined
      ? T
      : T extends (...args: never[]) => unknown
        ? never
        : T extends readonly (infer U)[]
          ? Json<U>[]
          : { [K in keyof T]: Json<T[K]> };
/** `true` if every A (what the SDK builds) is a B (what Grafana 13.2.3 reads), else `false`. */
type Fits<A, B> = Json<A> extends Json<B> ? true : false;
/**
 * The SDK (0.0.21) and Grafana 13.2.3 disagree in two declared types this dashboard never sets: `gnetId` (the SDK
 * says string, Grafana number) and an annotation's `target` (the SDK allows a query without refId). Everything else
 * the SDK can build is a Grafana 13.2.3 dashboard and panel configuration. Checked by tsc, not at run time:
 * `npm run check` fails on this statement if one of them is `false`.
 */
type SdkDashboard = Omit<sdkDashboard.Dashboard, 'gnetId' | 'annotations'> & { annotations?: { list?: Omit<sdkDashboard.AnnotationQuery, 'target'>[] } };
true satisfies Fits<SdkDashboard, GrafanaDashboard> &
  Fits<sdkText.Options, TextOptions> &
  Fits<sdkNodeGraph.Options, NodeGraphOptions> &
  Fits<sdkTimeSeries.Options, TimeSeriesOptions> &
  Fits<sdkTimeSeries.FieldConfig, TimeSeriesFieldConfig> &
  Fits<sdkLogs.Options, LogsOptions>;

// ---------------------------------------------------------------------------------------------- the connectors' names

/**
 * What the Collector writes to Prometheus from every span (otel-collector/span-metrics.yaml, service-graph.yaml),
 * read at opentelemetry-collector-contrib v0.161.0 (the service graph's at v0.159.0, the release built here) and
 * named as the Prometheus exporter's translation (translation_strategy UnderscoreEscapingWithSuffixes: dots become
 * underscores, the unit `s` adds _seconds, a monotonic sum ends in _total once):
 * - connector/spanmetricsconnector (factory.go: namespace traces.span.metrics; connector.go: `calls`, and
 *   `duration` in the configured unit s): traces_span_metrics_calls_total and traces_span_metrics_duration_seconds,
 *   labelled by the resource's service.name and the span's name, kind and status code (service_name, span_name,
 *   span_kind, status_code, with the OTLP enums' names), collector.instance.id and the configured dimensions
 *   (http.route becomes http_route).
 * - connector/servicegraphconnector (connector.go): traces_service_graph_request_total, _request_failed_total and
 *   the histograms _request_server_seconds and _request_client_seconds, labelled client, server, connection_type
 *   and failed.
 * Explicit-bucket histograms: _bucket (with `le`), _sum and _count. Neither connector makes exemplars here.
 */
const histogram = (name: string) => [`${name}_bucket`, `${name}_sum`, `${name}_count`];
const CONNECTORS = {
  metrics: new Set([
    ...histogram('traces_span_metrics_duration_seconds'),
    'traces_span_metrics_calls_total',
    'traces_service_graph_request_total',
    'traces_service_graph_request_failed_total',
    ...histogram('traces_service_graph_request_server_seconds'),
    ...histogram('traces_service_graph_request_client_seconds'),
  ]),
  spanMetricLabels: new Set(['service_name', 'span_name', 'span_kind', 'status_code', 'collector_instance_id', 'le', 'http_route']),
  serviceGraphLabels: new Set(['client', 'server', 'connection_type', 'failed', 'le']),
};

/** Metrics whose series carry exemplars: the service's (src/telemetry/metrics.ts, enableExemplars), no others. */
const EXEMPLAR_METRICS = new Set(['http_request_duration_seconds_bucket', 'http_requests_total', 'http_errors_total']);

/** The service map's PromQL as Grafana's Tempo datasource builds it (harness/service-map.ts). */
const grafanaServiceMapQueries = (board: { panels?: BuiltPanels }): string[] => dashboardServiceMapQueries(board).map((query) => query.expr);

// ---------------------------------------------------------------------------------------------- PromQL

interface Selectors {
  metrics: Set<string>;
  labels: Set<string>;
  /** The labels the outermost aggregation keeps: what a legend or a data link can name. */
  grouping: string[];
  binary: boolean;
}

/** Walks the syntax tree Prometheus's own parser returns (/api/v1/parse_query) for metric and label names. */
function selectors(ast: unknown): Selectors {
  const found: Selectors = { metrics: new Set(), labels: new Set(), grouping: [], binary: (ast as { type?: string }).type === 'binaryExpr' };
  let outermostGrouping: string[] | undefined;
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.type === 'vectorSelector' || record.type === 'matrixSelector') {
      if (typeof record.name === 'string' && record.name !== '') found.metrics.add(record.name);
      for (const matcher of (record.matchers as { name: string; value: string }[] | undefined) ?? []) {
        if (matcher.name === '__name__') found.metrics.add(matcher.value);
        else found.labels.add(matcher.name);
      }
    }
    if (record.type === 'aggregation' && Array.isArray(record.grouping)) {
      for (const label of record.grouping as string[]) found.labels.add(label);
      outermostGrouping ??= record.grouping as string[];
    }
    for (const value of Object.values(record)) walk(value);
  };
  walk(ast);
  found.grouping = outermostGrouping ?? [];
  return found;
}

/** The nodes of Prometheus's syntax tree the exemplar rule reads (web/api/v1/translate_ast.go at v3.16.0). */
interface PromQlNode {
  type: string;
  name?: string;
  op?: string;
  func?: { name: string };
  args?: PromQlNode[];
  expr?: PromQlNode;
  lhs?: PromQlNode;
  rhs?: PromQlNode;
}
const children = (node: PromQlNode) => [node.expr, node.lhs, node.rhs, ...(node.args ?? [])].filter((child) => child !== undefined && child !== null);

/** The first rate, irate or increase of a counter (a `_total` series) in the tree, as `rate(name)`. */
function rateOfCounter(node: PromQlNode): string | undefined {
  const counter = node.args?.[0]?.name;
  if (node.type === 'call' && ['rate', 'irate', 'increase'].includes(node.func!.name) && counter?.endsWith('_total') === true) return `${node.func!.name}(${counter})`;
  return children(node).map(rateOfCounter).find((found) => found !== undefined);
}

/** The unit a metric's name states (Prometheus's naming convention), in Grafana's unit ids. */
const UNIT_IN_NAME: Readonly<Record<string, string>> = { seconds: 's', milliseconds: 'ms' };

/**
 * Why the exemplars of a query would not lie on its panel's axis, or undefined when they do. Grafana draws an
 * exemplar at its own value and pins one above the axis to the top edge. A bucket exemplar's value is a single
 * observation, in the unit of a histogram_quantile over that histogram; a counter's exemplar carries the counter's
 * running total (@prometheus-io/client 0.16), which no rate or increase of it plots; a ratio or any other
 * expression has no single observation behind it.
 */
function exemplarsOffAxis(tree: PromQlNode, panelUnit: string | undefined): string | undefined {
  let root = tree;
  while (root.type === 'parenExpr') root = root.expr!;
  if (root.type === 'call' && root.func!.name === 'histogram_quantile') {
    for (const metric of selectors(root.args![1]).metrics) {
      if (!metric.endsWith('_bucket')) return `histogram_quantile over ${metric}, not a histogram's buckets`;
      const unit = UNIT_IN_NAME[/_([a-z]+)_bucket$/.exec(metric)?.[1] ?? ''];
      if (unit !== undefined && unit !== panelUnit) return `${metric} observes ${unit}, the panel's axis is ${panelUnit}`;
    }
    return undefined;
  }
  const counted = rateOfCounter(root);
  if (counted !== undefined) return `${counted}: its exemplars carry the counter's running total`;
  return `a ${root.type} (${root.op ?? root.func?.name ?? root.name}) has no single observation behind it`;
}

// ---------------------------------------------------------------------------------------------- the files

const committed = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as ReturnType<typeof buildDashboard>;
const panels = allPanels(committed);
const targets = prometheusTargets(committed);
const datasources = (parse(readProjectFile('grafana/provisioning/datasources/datasources.yaml')) as { datasources: { uid: string; type: string; jsonData: Record<string, any> }[] }).datasources;
const provisioned = new Map(datasources.map((datasource) => [datasource.uid, datasource.type]));
const annotations = committed.annotations?.list ?? [];

/** Every `${...}` Grafana fills in when a link is clicked, replaced by a value it could take. */
function clicked(url: string): URL {
  const values: Record<string, string> = {
    __from: '1767225600000',
    __to: '1767226500000',
    '__field.labels.route:percentencode': '%2Fapi%2Fusers',
    '__field.labels.span_name:percentencode': 'checkPaymentStatus',
    '__field.labels.error_type:percentencode': 'InjectedFaultError',
  };
  const filled = url.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    assert.ok(name in values, `a link uses \${${name}}, which this test does not know`);
    return values[name]!;
  });
  return new URL(filled, 'http://localhost:3000');
}

interface ExplorePane {
  datasource: string;
  queries: { refId: string; datasource: { uid: string }; queryType: string; query: string }[];
  range: { from: string; to: string };
}
function explorePane(url: string): [string, ExplorePane] {
  const parsed = clicked(url);
  assert.equal(parsed.pathname, '/explore');
  assert.equal(parsed.searchParams.get('schemaVersion'), '1');
  const panes = Object.entries(JSON.parse(parsed.searchParams.get('panes')!) as Record<string, ExplorePane>);
  assert.equal(panes.length, 1);
  return panes[0]!;
}

const dataLinks = (panel: (typeof panels)[number]) => ('fieldConfig' in panel ? (panel.fieldConfig?.defaults.links ?? []) : []);

/**
 * The service in-process with the fault switch on for /api/users, failing every request there: one request, its
 * server span's attributes and the /metrics text scraped after it (fault_injection_active and http_errors_total).
 */
async function requestFailedByTheFaultSwitch(): Promise<{ attributes: Readonly<Record<string, unknown>>; exposition: string }> {
  const faults = new FaultSwitch();
  faults.set({ route: USERS_PATH, slowProbability: 0, addedLatencyMs: 0, errorProbability: 1, durationSeconds: 60 });
  const { app, exporter } = testApp({ faults });
  assert.equal((await app.request(USERS_PATH)).status, 500);
  const server = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER)!;
  return { attributes: server.attributes, exposition: await scrape(app) };
}

describe('dashboard: generated from typed code', () => {
  it('commits the dashboard JSON its typed code generates', () => {
    assert.equal(readFileSync(DASHBOARD_FILE, 'utf8'), renderDashboard(), 'run node scripts/dashboard.ts');
  });
  // Its types are Grafana 13.2.3's at compile time (the `satisfies` above, checked by tsc); at run time, the version.
  it("carries Grafana 13.2.3's dashboard schema version", () => {
    assert.equal(committed.schemaVersion, defaultDashboard.schemaVersion);
  });
  it('uses panel types Grafana 13 has, and keys its Prometheus plugin reads', () => {
    // Plugin ids: public/app/plugins/panel/{text,timeseries,nodeGraph,logs}/plugin.json; rows are built in.
    for (const panel of panels) assert.ok(['text', 'timeseries', 'nodeGraph', 'logs', 'row'].includes(panel.type), panel.type);
    // @grafana/prometheus 13.2.3, dist/types/dataquery.d.ts and types.d.ts, beside @grafana/schema's DataQuery.
    const promQueryKeys = new Set(['refId', 'datasource', 'hide', 'key', 'queryType', 'editorMode', 'exemplar', 'expr', 'format', 'instant', 'intervalFactor', 'legendFormat', 'range', 'interval']);
    for (const target of targets) for (const key of Object.keys(target.query)) assert.ok(promQueryKeys.has(key), `${target.panel}: ${key}`);
    // Annotation keys: @grafana/schema's AnnotationQuery, and what @grafana/prometheus 13.2.3's src/annotations.ts reads.
    const annotationKeys = new Set(['name', 'datasource', 'enable', 'hide', 'iconColor', 'filter', 'target', 'type', 'builtIn', 'placement', 'expr', 'step', 'titleFormat', 'textFormat', 'tagKeys', 'useValueForTime']);
    for (const annotation of annotations) for (const key of Object.keys(annotation)) assert.ok(annotationKeys.has(key), `${annotation.name}: ${key}`);
  });
});

describe('dashboard: what it shows', () => {
  it('opens with a text panel on what the dots, the regions and the links mean', () => {
    const [first] = committed.panels!;
    assert.equal(first!.type, 'text');
    assert.deepEqual(first!.gridPos, { x: 0, y: 0, w: 24, h: 4 });
    const content = (first as { options: { content: string; mode: string } }).options;
    assert.equal(content.mode, 'markdown');
    // The words of the exemplar link the datasource provisions, so the text names what the user will see.
    const label = datasources.find((datasource) => datasource.type === 'prometheus')!.jsonData.exemplarTraceIdDestinations[0].urlDisplayLabel as string;
    assert.ok(content.content.includes(`**${label}**`), label);
    assert.match(content.content, /make load/);
    assert.match(readProjectFile('Makefile'), /^load:/m);
    assert.match(content.content, /fault_injection_active/);
  });
  it('describes every panel in a line', () => {
    for (const panel of panels.filter((panel) => panel.type !== 'row')) {
      const description = (panel as { description?: string }).description ?? '';
      assert.ok(description.length > 20 && !description.includes('\n'), `${panel.title}: ${description}`);
    }
  });
  it('fits 24 columns without overlap, and the open part fits a laptop screen', () => {
    const visible = committed.panels!;
    for (const [i, a] of visible.entries()) {
      const box = a.gridPos!;
      assert.ok(box.x + box.w <= 24, a.title);
      for (const b of visible.slice(i + 1)) {
        const other = b.gridPos!;
        const apart = box.x + box.w <= other.x || other.x + other.w <= box.x || box.y + box.h <= other.y || other.y + other.h <= box.y;
        assert.ok(apart, `${a.title} overlaps ${b.title}`);
      }
    }
    // 26 grid rows of 30 px plus margins: about 1000 px, one screen of a 1080p laptop with the browser's bars.
    assert.ok(Math.max(...visible.map((panel) => panel.gridPos!.y + panel.gridPos!.h)) <= 26);
    assert.ok(visible.some((panel) => panel.type === 'row' && (panel as { collapsed: boolean }).collapsed), 'span metrics in a collapsed row');
  });
  it('opens on the last 15 minutes, refreshing every 5 s', () => {
    assert.deepEqual(committed.time, { from: 'now-15m', to: 'now' });
    assert.equal(committed.refresh, '5s');
  });
});

describe('dashboard: datasources', () => {
  it('uses only provisioned datasource uids, each with its type', () => {
    const refs = [
      ...panels.flatMap((panel) => [panel.datasource, ...('targets' in panel ? (panel.targets ?? []) : []).map((target) => (target as { datasource?: { uid?: string; type?: string } }).datasource)]),
      ...annotations.map((annotation) => annotation.datasource),
      ...(committed.templating?.list ?? []).map((variable) => variable.datasource),
    ].filter((ref) => ref !== undefined && ref !== null);
    assert.ok(refs.length >= 20);
    for (const ref of refs) assert.equal(provisioned.get(ref.uid!), ref.type, JSON.stringify(ref));
  });
});

// One real Prometheus (its API parses PromQL; nothing is scraped) for the checks that need its parser.
let prometheus: Prometheus | undefined;
async function prometheusTree(promql: string): Promise<PromQlNode> {
  return (await prometheus!.parse(substituteDashboardVariables(promql)).catch((error: unknown) => assert.fail(`PromQL does not parse: ${promql}: ${(error as Error).message}`))) as PromQlNode;
}
async function prometheusSelectors(promql: string): Promise<Selectors> {
  return selectors(await prometheusTree(promql));
}

describe("dashboard: every PromQL expression, with Prometheus's parser; exemplars", () => {
  before(async () => {
    prometheus = await Prometheus.start({ target: '127.0.0.1:9' });
  });
  after(() => prometheus?.stop());

  it('asks for exemplars on one query of a panel, one whose axis holds their values, wherever there is one', async () => {
    const panelsWithDots: number[] = [];
    for (const panel of panels.filter((candidate) => candidate.type !== 'row')) {
      const unit = 'fieldConfig' in panel ? panel.fieldConfig?.defaults.unit : undefined;
      const panelTargets = prometheusTargets({ panels: [panel] });
      const asking = panelTargets.filter((target) => target.query.exemplar === true);
      // @grafana/prometheus 13.2.3 runs every exemplar query of a panel (scripts/dashboard.ts, latencyQueries):
      // a second one draws every dot a second time.
      assert.ok(asking.length <= 1, `${panel.title}: ${asking.length} queries ask for exemplars`);
      const metricsRead = new Set<string>();
      for (const target of panelTargets) {
        const tree = await prometheusTree(target.expr);
        const { metrics } = selectors(tree);
        const offAxis = exemplarsOffAxis(tree, unit);
        if (target.query.exemplar === true) {
          assert.equal(offAxis, undefined, `${panel.title}: exemplars on ${target.expr}: ${offAxis}`);
          // Once the histogram names are loaded, shouldRunExemplarQuery skips it if an earlier query reads them.
          assert.ok(![...metrics].some((metric) => metricsRead.has(metric)), `${panel.title}: an earlier query reads ${target.expr}'s series`);
        }
        if (offAxis === undefined && [...metrics].some((metric) => EXEMPLAR_METRICS.has(metric))) assert.equal(asking.length, 1, `${panel.title} could show its exemplars on ${target.expr}`);
        for (const metric of metrics) metricsRead.add(metric);
      }
      if (asking.length === 1) panelsWithDots.push(panel.id!);
    }
    // The two latency panels (span metrics carry no exemplars: most of their spans' traces are not kept).
    assert.equal(panelsWithDots.length, 2, `panels with dots: ${panelsWithDots}`);
  });
  it('finds exemplars off the axis over a rate or increase of a counter, a ratio, or another unit', async () => {
    const refused: [string, string, RegExp][] = [
      ['sum by (route) (rate(http_requests_total[1m]))', 'reqps', /^rate\(http_requests_total\): its exemplars carry the counter's running total$/],
      ['sum(increase(http_errors_total[5m]))', 'short', /^increase\(http_errors_total\)/],
      ['1 - sum(rate(http_request_duration_seconds_bucket{le="1.0"}[1m])) / sum(rate(http_request_duration_seconds_count[1m]))', 'percentunit', /^a binaryExpr \(-\)/],
      ['histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))', 'ms', /observes s, the panel's axis is ms$/],
    ];
    for (const [expr, unit, reason] of refused) assert.match(exemplarsOffAxis(await prometheusTree(expr), unit) ?? 'on the axis', reason, expr);
    assert.equal(exemplarsOffAxis(await prometheusTree('(histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m]))))'), 's'), undefined);
  });
  it('parses every target, annotation, variable and service-map expression', async () => {
    const variables = (committed.templating?.list ?? []).map((variable) => /^label_values\((.+), \w+\)$/.exec(String(variable.query))![1]!);
    const all = [...targets.map((target) => target.expr), ...annotations.map((annotation) => annotation.expr!), ...variables, ...grafanaServiceMapQueries(committed)];
    assert.ok(all.length >= 20);
    for (const expr of all) await prometheusSelectors(expr);
  });

  it('reads only the metrics and labels the Collector writes, where it reads span metrics or the service graph', async () => {
    // The Tempo datasource's traces-to-metrics queries too, with $${__tags} as it fills it from the span's tags.
    const tracesToMetrics = datasources.find((datasource) => datasource.type === 'tempo')!.jsonData.tracesToMetrics as { tags: { key: string; value: string }[]; queries: { query: string }[] };
    const tags = tracesToMetrics.tags.map(({ value }) => `${value}="exemplar-demo"`).join(',');
    const fromSpans = tracesToMetrics.queries.map(({ query }) => query.replaceAll('$$__tags', tags));
    const exprs = [...targets.map((target) => target.expr), ...grafanaServiceMapQueries(committed), ...fromSpans].filter((expr) => expr.includes('traces_'));
    assert.ok(exprs.length >= 11, 'the span-metrics panel, the service map and traces-to-metrics');
    for (const expr of exprs) {
      const found = await prometheusSelectors(expr);
      for (const metric of found.metrics) assert.ok(CONNECTORS.metrics.has(metric), `${metric} in ${expr}`);
      const known = [...found.metrics].some((metric) => metric.startsWith('traces_span_metrics_')) ? CONNECTORS.spanMetricLabels : CONNECTORS.serviceGraphLabels;
      for (const label of found.labels) assert.ok(known.has(label), `label ${label} in ${expr}`);
      // Values the span metrics connector writes with the OTLP enums' names (traceutil.SpanKindStr, StatusCodeStr).
      for (const [, value] of expr.matchAll(/span_kind="(\w+)"/g)) assert.match(value!, /^SPAN_KIND_(SERVER|CLIENT|INTERNAL|PRODUCER|CONSUMER)$/);
      for (const [, value] of expr.matchAll(/status_code="(\w+)"/g)) assert.match(value!, /^STATUS_CODE_(OK|ERROR|UNSET)$/);
    }
  });

  it('draws the fault switch and the HighP99Latency alert, on the latency panels, with 5 s steps', async () => {
    const [fault, alert] = annotations;
    assert.deepEqual((await prometheusSelectors(fault!.expr!)).metrics, new Set(['fault_injection_active']));
    // The series the service shows while the switch is on, with the route the title names.
    assert.match((await requestFailedByTheFaultSwitch()).exposition, /^fault_injection_active\{route="\/api\/users"\} 1$/m);
    const rules = (parse(readProjectFile('prometheus/rules.yml')) as { groups: { rules: { alert?: string; expr: string }[] }[] }).groups.flatMap((group) => group.rules);
    const rule = rules.find((candidate) => alert!.expr!.includes(`alertname="${candidate.alert}"`))!;
    assert.equal(rule.alert, 'HighP99Latency');
    assert.match(alert!.expr!, /alertstate="firing"/);
    // {{route}} in the titles: the alert's series carry route, because its recording rule keeps it.
    const recorded = rules.find((candidate) => rule.expr.startsWith((candidate as { record?: string }).record ?? '\0'))!;
    assert.ok((await prometheusSelectors(recorded.expr)).grouping.includes('route'));
    const latencyPanelIds = panels.filter((panel) => panel.type === 'timeseries' && prometheusTargets({ panels: [panel] }).every((target) => target.expr.startsWith('histogram_quantile'))).map((panel) => panel.id);
    const scrapeInterval = (parse(readProjectFile('prometheus/prometheus.yml')) as { global: { scrape_interval: string } }).global.scrape_interval;
    for (const annotation of [fault!, alert!]) {
      assert.deepEqual(annotation.filter?.ids.sort(), latencyPanelIds.sort(), annotation.name);
      assert.equal(annotation.step, scrapeInterval, `${annotation.name}: steps no longer than a scrape, or a short fault is skipped`);
      assert.match(annotation.titleFormat!, /\{\{route\}\}/);
    }
  });

  it('names in each data link only labels its series carry', async () => {
    let checked = 0;
    for (const panel of panels) {
      for (const link of dataLinks(panel)) {
        const labels = [...link.url!.matchAll(/\$\{__field\.labels\.(\w+)/g)].map((match) => match[1]!);
        for (const target of prometheusTargets({ panels: [panel] })) {
          const { grouping } = await prometheusSelectors(target.expr);
          for (const label of labels) assert.ok(grouping.includes(label), `${panel.title}: ${label} not in by (${grouping})`);
          checked += labels.length;
        }
      }
    }
    assert.ok(checked >= 4);
  });
});

describe('dashboard: links to Tempo search in Explore', () => {
  it('links the dashboard to this service and to its slow traces', () => {
    const urls = (committed.links ?? []).map((link) => link.url!);
    assert.equal(urls.length, 2);
    const queries = urls.map((url) => explorePane(url)[1].queries[0]!.query);
    assert.deepEqual(queries, ['{resource.service.name="exemplar-demo"}', '{resource.service.name="exemplar-demo" && duration > 500ms}']);
    // Left out, the links show above the panels; the SDK's default placement would hide them in a menu.
    for (const link of committed.links ?? []) assert.equal((link as { placement?: string }).placement, undefined);
  });
  it('opens Explore on the provisioned Tempo over the dashboard time range', () => {
    const urls = [...(committed.links ?? []).map((link) => link.url!), ...panels.flatMap((panel) => dataLinks(panel).map((link) => link.url!))];
    assert.ok(urls.length >= 5);
    for (const url of urls) {
      const [paneId, pane] = explorePane(url);
      // migrators/v1.ts replaces a pane id that is not 3 characters with a letter among them.
      assert.match(paneId, /^(?=.*[a-z])[a-z0-9]{3}$/);
      assert.equal(provisioned.get(pane.datasource), 'tempo');
      assert.deepEqual(pane.range, { from: '1767225600000', to: '1767226500000' });
      assert.equal(pane.queries[0]!.queryType, 'traceql');
      assert.equal(pane.queries[0]!.datasource.uid, pane.datasource);
      // Grafana's own TraceQL grammar (the one its query editor uses) finds no syntax error.
      let errors = 0;
      traceQlParser.parse(pane.queries[0]!.query).iterate({ enter: (node) => void (node.type.isError && (errors += 1)) });
      assert.equal(errors, 0, pane.queries[0]!.query);
    }
  });
  it("links each latency series to its route's, or its span's, slow traces, and each error series to its failed ones", () => {
    const byTitle = new Map(panels.map((panel) => [panel.title, dataLinks(panel).map((link) => explorePane(link.url!)[1].queries[0]!.query)]));
    assert.deepEqual(byTitle.get('Latency of $route'), ['{resource.service.name="exemplar-demo" && span.http.route="/api/users" && duration > 500ms}']);
    assert.deepEqual(byTitle.get('p99 by span name (span metrics)'), ['{resource.service.name="exemplar-demo" && name="checkPaymentStatus" && duration > 500ms}']);
    assert.deepEqual(byTitle.get('Server errors by route and type'), ['{resource.service.name="exemplar-demo" && span.http.route="/api/users" && span.error.type="InjectedFaultError"}']);
  });
  it("searches the span attributes that hold, on the request's server span, the values of the labels it fills in", async () => {
    const { attributes, exposition } = await requestFailedByTheFaultSwitch();
    const errorSeries = /^http_errors_total\{([^}]*)\}/m.exec(exposition)![1]!;
    const searched = panels.flatMap((panel) => dataLinks(panel)).flatMap((link) => [...decodeURIComponent(link.url!).matchAll(/span\.([\w.]+)=\\"\$\{__field\.labels\.(\w+)/g)]);
    assert.ok(searched.length >= 3, `${searched.length} span attributes searched`);
    for (const [, attribute, label] of searched) {
      const value = new RegExp(`${label}="([^"]+)"`).exec(errorSeries)?.[1];
      assert.equal(attributes[attribute!], value, `span.${attribute} against the label ${label} of ${errorSeries}`);
    }
  });
  it('draws the service map from Tempo, which reads the service graph from the provisioned Prometheus', () => {
    const map = panels.find((panel) => panel.type === 'nodeGraph')!;
    assert.equal(provisioned.get(map.datasource!.uid!), 'tempo');
    const tempo = datasources.find((datasource) => datasource.type === 'tempo')!;
    assert.equal(provisioned.get(tempo.jsonData.serviceMap.datasourceUid), 'prometheus');
    assert.equal(grafanaServiceMapQueries(committed).filter((expr) => expr.startsWith('sum by (client, server)')).length, 4);
  });
});
