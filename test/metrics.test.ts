import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPENMETRICS_ACCEPT, scrape, testApp } from '../harness/app.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** The `{labels} value timestamp` exemplar of the first series line that starts with `prefix`. */
function exemplarOf(exposition: string, prefix: string) {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(prefix));
  assert.ok(line, `no series line starts with ${prefix}`);
  const match = / # \{trace_id="([^"]*)",span_id="([^"]*)"\} (\S+) (\S+)$/.exec(line);
  return match === null ? undefined : { traceId: match[1]!, spanId: match[2]!, value: Number(match[3]), line };
}

function serverSpan(exporter: ReturnType<typeof testApp>['exporter']) {
  const spans = exporter.getFinishedSpans().filter((span) => span.kind === 1 /* SERVER */);
  return spans.at(-1)!;
}

describe('probes', () => {
  it('answers /health, and /ready with 200 when ready and 503 once shutdown has begun', async () => {
    const { app } = testApp();
    assert.deepEqual(await (await app.request('/health')).json(), { status: 'ok' });
    assert.deepEqual(await (await app.request('/ready')).json(), { status: 'ready' });
    const shuttingDown = testApp();
    shuttingDown.beginShutdown();
    const response = await shuttingDown.app.request('/ready');
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: 'not_ready' });
  });
});

describe('/metrics', () => {
  it('puts the server span on the exemplar of the bucket the duration fell in', async () => {
    const { app, exporter } = testApp({ env: { USERS_SLOW_PROBABILITY: '1', USERS_SLOW_LATENCY_MS: '300', EXEMPLAR_POLICY: 'always' } });
    assert.equal((await app.request('/api/users')).status, 200);
    const exposition = await scrape(app);
    const span = serverSpan(exporter).spanContext();

    const bucket = exemplarOf(exposition, 'http_request_duration_seconds_bucket{le="0.5",method="GET",route="/api/users",status_code="200"}');
    assert.ok(bucket, 'the 0.5 s bucket has an exemplar');
    assert.equal(bucket.traceId, span.traceId);
    assert.equal(bucket.spanId, span.spanId);
    assert.match(bucket.traceId, HEX32);
    assert.match(bucket.spanId, HEX16);
    assert.ok(bucket.value > 0.25 && bucket.value <= 0.5, `exemplar value ${bucket.value} lies in (0.25, 0.5]`);
    assert.equal(exemplarOf(exposition, 'http_request_duration_seconds_bucket{le="0.25",method="GET",route="/api/users"'), undefined);
  });

  it('serves valid OpenMetrics 1.0.0 when asked, ending in # EOF, with _total counters and exemplars', async () => {
    const { app } = testApp({ env: { EXEMPLAR_POLICY: 'always' } });
    await app.request('/api/orders');
    const response = await app.request('/metrics', { headers: { accept: OPENMETRICS_ACCEPT } });
    assert.equal(response.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    const exposition = await response.text();
    assert.ok(exposition.endsWith('\n# EOF\n'), 'ends with # EOF');
    assert.match(exposition, /^# TYPE http_requests counter$/m, 'OpenMetrics counter family without _total');
    assert.match(exposition, /^http_requests_total\{method="GET",route="\/api\/orders",status_code="200",region="none"\} 1 # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} \d/m);
    for (const line of exposition.split('\n').filter((candidate) => candidate.includes(' # {'))) {
      // OpenMetrics: `series value # {labels} value timestamp`, label set at most 128 characters.
      assert.match(line, /^[a-z_]+(\{[^}]*\})? \S+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} \S+ \d+(\.\d+)?$/);
    }
  });

  it('serves Prometheus text 0.0.4 without exemplars to a scraper that does not ask for OpenMetrics', async () => {
    const { app } = testApp({ env: { EXEMPLAR_POLICY: 'always' } });
    await app.request('/api/users');
    await scrape(app); // an OpenMetrics render first: it renames counters in place, which must not leak here
    for (const accept of [undefined, 'text/plain', 'application/openmetrics-text;q=0,text/plain;q=1']) {
      const response = await app.request('/metrics', accept === undefined ? {} : { headers: { accept } });
      assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8', `accept ${accept}`);
      const exposition = await response.text();
      assert.doesNotMatch(exposition, / # \{/, 'no exemplars');
      assert.doesNotMatch(exposition, /# EOF/);
      assert.match(exposition, /^# TYPE http_requests_total counter$/m);
      assert.match(exposition, /^http_requests_total\{method="GET",route="\/api\/users",status_code="200",region="none"\} 1$/m);
    }
  });

  // Accept headers as Prometheus v3.16.0 builds them from a job's scrape_protocols (scrape/scrape.go acceptHeader:
  // media types from config/config.go ScrapeProtocolsHeaders, `escaping=` on the 1.0.0 types, q falling from 0.7 in
  // steps of 0.1, then `*/*`), each also seen on the wire from the real Prometheus 3.16.0; then a few by hand.
  const negotiation: [string, string, 'OpenMetrics' | 'text'][] = [
    ['the test harness (two formats, OpenMetrics first)', OPENMETRICS_ACCEPT, 'OpenMetrics'],
    [
      "Prometheus 3's default scrape_protocols",
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,' +
        'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3',
      'OpenMetrics',
    ],
    [
      'the scrape_protocols of prometheus/scrape.yml',
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
      'OpenMetrics',
    ],
    [
      "the tests' Prometheus (harness/prometheus.ts)",
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,text/plain;version=0.0.4;q=0.6,*/*;q=0.5',
      'OpenMetrics',
    ],
    ['a job asking for OpenMetrics 0.0.1 only', 'application/openmetrics-text;version=0.0.1;q=0.7,*/*;q=0.6', 'OpenMetrics'],
    [
      'a job with protobuf first (the service serves no protobuf)',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,' +
        'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
      'OpenMetrics',
    ],
    ['a text-only job (scrape_protocols [PrometheusText0.0.4])', 'text/plain;version=0.0.4;q=0.7,*/*;q=0.6', 'text'],
    [
      'a job that ranks text above OpenMetrics',
      'text/plain;version=0.0.4;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5',
      'text',
    ],
    ['OpenMetrics refused with q=0', 'application/openmetrics-text;q=0,text/plain;q=1', 'text'],
    ['a bare wildcard with a low q', '*/*;q=0.1', 'text'],
    ['a bare wildcard', '*/*', 'text'],
    ['media type and parameter names in capitals', 'Application/OpenMetrics-Text; Version=1.0.0; Q=0.8, text/plain; q=0.2', 'OpenMetrics'],
  ];
  for (const [who, accept, expected] of negotiation) {
    it(`answers ${who} with ${expected}`, async () => {
      const { app } = testApp({ env: { EXEMPLAR_POLICY: 'always' } });
      await app.request('/api/users');
      const response = await app.request('/metrics', { headers: { accept } });
      const exposition = await response.text();
      if (expected === 'OpenMetrics') {
        assert.equal(response.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
        assert.match(exposition, /^http_requests_total\{[^}]*\} 1 # \{trace_id="[0-9a-f]{32}"/m, 'with its exemplar');
      } else {
        assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
        assert.match(exposition, /^http_requests_total\{[^}]*\} 1$/m, 'without an exemplar');
      }
    });
  }

  it('puts exemplars on both counters; errors are counted with their type', async () => {
    const { app, exporter } = testApp({ env: { PAYMENT_FAILURE_PROBABILITY: '1', EXEMPLAR_POLICY: 'always' } });
    const response = await app.request('/api/orders');
    assert.equal(response.status, 502);
    const body = (await response.json()) as { error: string; trace_id: string };
    const span = serverSpan(exporter).spanContext();
    assert.deepEqual(body, { error: 'payment_service_unavailable', trace_id: span.traceId });

    const exposition = await scrape(app);
    const errors = exemplarOf(exposition, 'http_errors_total{method="GET",route="/api/orders",status_code="502",error_type="PaymentServiceError"}');
    const requests = exemplarOf(exposition, 'http_requests_total{method="GET",route="/api/orders",status_code="502"');
    assert.equal(errors?.traceId, span.traceId);
    assert.equal(requests?.traceId, span.traceId);
  });

  it('never wipes a stored exemplar: a later observation without one keeps it (histogram and both counters)', async () => {
    let attach = true;
    const { app, exporter } = testApp({
      env: { PAYMENT_FAILURE_PROBABILITY: '1' },
      exemplarPolicy: { shouldAttach: () => attach },
    });
    await app.request('/api/orders');
    const first = serverSpan(exporter).spanContext().traceId;
    attach = false;
    await app.request('/api/orders');
    await app.request('/api/orders');
    assert.notEqual(serverSpan(exporter).spanContext().traceId, first);

    const exposition = await scrape(app);
    const series = {
      requests: 'http_requests_total{method="GET",route="/api/orders",status_code="502",region="none"} 3',
      errors: 'http_errors_total{method="GET",route="/api/orders",status_code="502",error_type="PaymentServiceError"} 3',
    };
    for (const [name, prefix] of Object.entries(series)) {
      assert.equal(exemplarOf(exposition, prefix)?.traceId, first, `${name} keeps the first exemplar`);
    }
    // The bucket the first request fell in: le 0.005 with the two others on an idle machine, not always on a busy one.
    const buckets = exposition.split('\n').filter((line) => line.startsWith('http_request_duration_seconds_bucket{') && line.includes('route="/api/orders"'));
    const withExemplar = buckets.filter((line) => line.includes(' # {'));
    assert.equal(withExemplar.length, 1, 'one bucket holds an exemplar');
    assert.equal(exemplarOf(withExemplar[0]!, '')?.traceId, first, 'the histogram keeps the first exemplar');
    assert.match(exposition, /^http_request_duration_seconds_count\{method="GET",route="\/api\/orders",status_code="502"\} 3$/m);
  });

  it('labels regions from baggage through the allow-list only, and never labels user_id', async () => {
    const { app } = testApp();
    for (const baggage of ['region=eu-west,user_id=alice', 'region=mars,user_id=bob', 'user_id=carol']) {
      await app.request('/api/users', { headers: { baggage } });
    }
    const exposition = await scrape(app);
    const regions = [...exposition.matchAll(/^http_requests_total\{[^}]*region="([^"]+)"\}/gm)].map((match) => match[1]).sort();
    assert.deepEqual(regions, ['eu-west', 'none', 'other']);
    assert.doesNotMatch(exposition, /alice|bob|carol|user_id/);
  });

  it('labels every unmatched path with one route value and unknown methods with _OTHER', async () => {
    const { app } = testApp();
    for (const path of ['/a', '/b/c', '/api/users/42', '/api']) await app.request(path);
    await app.request('/a', { method: 'PROPFIND' });
    const exposition = await scrape(app);
    const routes = new Set([...exposition.matchAll(/^http_requests_total\{method="([^"]+)",route="([^"]+)"/gm)].map((m) => `${m[1]} ${m[2]}`));
    assert.deepEqual([...routes].sort(), ['GET unmatched', '_OTHER unmatched']);
  });
});
