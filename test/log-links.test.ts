// Logs in Grafana, checked as the dashboard's tests are (Grafana and Loki cannot run here): the dashboard's panel of
// slow-request warnings and the Tempo datasource's traces-to-logs query parse with Loki's own LogQL grammar
// (@grafana/lezer-logql, the parser of Grafana's Loki query editor), select by the labels loki/loki.yaml indexes
// and by what the service writes; and the links between traces and logs point at the provisioned datasources.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parser as logQlParser } from '@grafana/lezer-logql';
import { parse } from 'yaml';
import { testApp } from '../harness/app.ts';
import { readProjectFile } from '../harness/root.ts';
import { allPanels, DASHBOARD_FILE, SLOW_REQUEST_LOGQL, type buildDashboard } from '../scripts/dashboard.ts';
import { SLOW_REQUEST_MESSAGE } from '../src/http/middleware/telemetry.ts';

const committed = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as ReturnType<typeof buildDashboard>;
// Grafana expands environment variables in provisioning files, where `$$` stands for a literal `$`.
const datasources = (parse(readProjectFile('grafana/provisioning/datasources/datasources.yaml').replaceAll('$$', '$')) as { datasources: { uid: string; type: string; jsonData: Record<string, any> }[] }).datasources;
const provisioned = new Map(datasources.map((datasource) => [datasource.uid, datasource.type]));
const tempo = datasources.find((datasource) => datasource.type === 'tempo')!;
const lokiConfig = parse(readProjectFile('loki/loki.yaml')) as { limits_config: { otlp_config: { resource_attributes: { attributes_config: { attributes: string[] }[] }; severity_text_as_label: boolean } } };

/** The stream labels Loki makes (loki.yaml): the indexed resource attributes, named as Loki's label namer names them (dots become underscores), and severity_text. */
const LOKI_LABELS = new Set([
  ...lokiConfig.limits_config.otlp_config.resource_attributes.attributes_config.flatMap(({ attributes }) => attributes.map((name) => name.replaceAll('.', '_'))),
  ...(lokiConfig.limits_config.otlp_config.severity_text_as_label ? ['severity_text'] : []),
]);

interface LogQl {
  readonly errors: number;
  /** name -> value of the stream selector's matchers. */
  readonly selector: Record<string, string>;
  /** The line filters' strings and the label filters after the selector, as written. */
  readonly lineFilters: string[];
  readonly labelFilters: Record<string, string>;
  readonly lineFormat: string | undefined;
}

/** The parts of `expr` as Loki's grammar reads them. */
function logQl(expr: string): LogQl {
  const parsed = { errors: 0, selector: {} as Record<string, string>, lineFilters: [] as string[], labelFilters: {} as Record<string, string>, lineFormat: undefined as string | undefined };
  const text = (node: { from: number; to: number }) => expr.slice(node.from, node.to);
  const unquote = (value: string) => JSON.parse(value) as string;
  logQlParser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.type.isError) parsed.errors += 1;
      const node = ref.node;
      if (ref.name === 'Matcher') {
        const name = text(node.getChild('Identifier')!);
        const value = unquote(text(node.getChild('String')!));
        if (node.parent?.name === 'Matchers') parsed.selector[name] = value;
        else parsed.labelFilters[name] = value;
      }
      if (ref.name === 'LineFilter') parsed.lineFilters.push(unquote(text(node.getChild('String')!)));
      if (ref.name === 'LineFormatExpr') parsed.lineFormat = unquote(text(node.getChild('String')!));
    },
  });
  return parsed;
}

/** A slow-request warning as the service writes it (the app in-process, every request slow). */
async function slowRequestWarning(): Promise<Record<string, unknown>> {
  const { app, logLines } = testApp({ env: { SLOW_REQUEST_THRESHOLD_MS: '0' } });
  await app.request('/api/users');
  return logLines.find((line) => line.msg === SLOW_REQUEST_MESSAGE)!;
}

describe('logs in Grafana: the slow-request panel (Loki)', () => {
  const panel = allPanels(committed).find((candidate) => candidate.type === 'logs')!;
  const [target] = ('targets' in panel ? panel.targets : []) as unknown as { expr: string; datasource: { uid: string; type: string } }[];

  it('queries the provisioned Loki with the LogQL scripts/dashboard.ts writes, which Loki\'s grammar parses', () => {
    assert.deepEqual(target!.datasource, { type: 'loki', uid: 'loki' });
    assert.equal(provisioned.get(target!.datasource.uid), 'loki');
    assert.equal(target!.expr, SLOW_REQUEST_LOGQL);
    assert.equal(logQl(target!.expr).errors, 0, target!.expr);
    assert.ok(logQl('{service_name="exemplar-demo" |= "x"').errors > 0, 'the grammar finds a broken query');
  });

  it('selects by the labels Loki indexes, the service, the level and the message the warning has', async () => {
    const warning = await slowRequestWarning();
    const query = logQl(target!.expr);
    assert.deepEqual(new Set(Object.keys(query.selector)), LOKI_LABELS);
    assert.deepEqual(query.selector, { service_name: 'exemplar-demo', severity_text: warning.level });
    assert.deepEqual(query.lineFilters, [warning.msg]);
    // line_format prints structured metadata, the warning's own fields.
    const fields = [...(query.lineFormat ?? '').matchAll(/\{\{\.(\w+)\}\}/g)].map(([, name]) => name!);
    assert.ok(fields.length > 0);
    for (const field of fields) assert.ok(field in warning, `${field} is a field of the warning: ${JSON.stringify(warning)}`);
  });

  it('keeps the details open to a line, where the trace link of the Loki datasource shows', () => {
    assert.equal((panel as { options: { enableLogDetails: boolean } }).options.enableLogDetails, true);
  });
});

describe('logs in Grafana: from a log line to its trace, from a span to its logs', () => {
  it("links a line's trace_id (structured metadata, read as a label) to the provisioned Tempo", async () => {
    const loki = datasources.find((datasource) => datasource.type === 'loki')!;
    assert.equal(loki.uid, 'loki');
    const [field] = loki.jsonData.derivedFields as { name: string; matcherType: string; matcherRegex: string; datasourceUid: string; url: string }[];
    assert.equal(provisioned.get(field!.datasourceUid), 'tempo');
    assert.deepEqual({ matcherType: field!.matcherType, matcherRegex: field!.matcherRegex, url: field!.url }, { matcherType: 'label', matcherRegex: 'trace_id', url: '${__value.raw}' });
    // The name Loki gives the record's trace ID (pkg/loghttp/push/otlp.go at v3.7.6) is the one the line has.
    assert.ok('trace_id' in (await slowRequestWarning()));
  });

  it("opens, from a span, Loki's lines of its trace for its service, over a window containing the span", () => {
    const options = tempo.jsonData.tracesToLogsV2 as { datasourceUid: string; tags: { key: string; value: string }[]; spanStartTimeShift: string; spanEndTimeShift: string; customQuery: boolean; query: string };
    assert.equal(provisioned.get(options.datasourceUid), 'loki');
    assert.equal(options.customQuery, true);
    // Grafana fills in ${__tags} from `tags` (key: the span's attribute, value: the Loki label) and ${__span.traceId}.
    const tags = options.tags.map(({ key, value }) => `${value}="${key === 'service.name' ? 'exemplar-demo' : ''}"`).join(', ');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const filled = options.query.replace('${__tags}', tags).replace('${__span.traceId}', traceId);
    const query = logQl(filled);
    assert.equal(query.errors, 0, filled);
    assert.deepEqual(query.selector, { service_name: 'exemplar-demo' });
    assert.ok(Object.keys(query.selector).every((label) => LOKI_LABELS.has(label)));
    assert.deepEqual(query.labelFilters, { trace_id: traceId });
    // Grafana adds each shift to the span's start and end (getTimeRangeFromTimestamps): the window must hold the span.
    const minutes = (shift: string) => Number(/^(-?\d+)m$/.exec(shift)![1]);
    assert.ok(minutes(options.spanStartTimeShift) <= 0 && minutes(options.spanEndTimeShift) >= 0, `${options.spanStartTimeShift} .. ${options.spanEndTimeShift}`);
  });
});
