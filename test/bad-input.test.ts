// Bad input over real HTTP: random paths and methods, malformed query strings, trace context and baggage.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { type ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';

describe('bad input', () => {
  let receiver: OtlpReceiver;
  let service: ServiceProcess;
  let stop: () => Promise<void>;
  before(async () => {
    ({ service, receiver, stop } = await startServiceWithReceiver({ OTEL_SERVICE_NAME: 'bad-input-test' }));
  });
  after(() => stop());

  const problemsOf = async (query: string) => {
    const response = await fetch(`${service.baseUrl}/api/users${query}`);
    return { status: response.status, body: (await response.json()) as { error: string; problems: { field: string; rule: string }[] } };
  };

  const badQueries: [string, string][] = [
    ['?limit=abc', 'limit'],
    ['?limit=0', 'limit'],
    ['?limit=101', 'limit'],
    ['?limit=1.5', 'limit'],
    ['?limit=1&limit=2', 'limit'],
    ['?region=EU%20WEST', 'region'],
    ['?region=' + 'a'.repeat(33), 'region'],
    ['?colour=blue', 'colour'],
  ];
  for (const [query, field] of badQueries) {
    it(`answers ${query} with 400 naming ${field}`, async () => {
      const { status, body } = await problemsOf(query);
      assert.equal(status, 400);
      assert.equal(body.error, 'invalid_request');
      assert.equal(body.problems[0]?.field, field);
      assert.ok(body.problems[0]!.rule.length > 0);
    });
  }

  it('validates /api/orders the same way', async () => {
    const response = await fetch(`${service.baseUrl}/api/orders?limit=-3`);
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { problems: { field: string }[] }).problems[0]?.field, 'limit');
  });

  it('answers an unknown route with a 404 JSON body', async () => {
    const response = await fetch(`${service.baseUrl}/no/such/route`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'not_found', path: '/no/such/route' });
  });

  it('ignores malformed traceparent and baggage: a new trace, no user or region attributes, no error', async () => {
    const malformed = [
      { traceparent: '00-zzzz-00f067aa0ba902b7-01' },
      { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
      { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      { traceparent: 'x'.repeat(4000) },
      { baggage: 'user_id' },
      { baggage: '=;;,,region=%ZZ' },
      { baggage: `user_id=${'x'.repeat(9000)}` },
    ];
    const traceIds: string[] = [];
    for (const headers of malformed) {
      const response = await fetch(`${service.baseUrl}/api/users`, { headers });
      assert.equal(response.status, 200, JSON.stringify(headers).slice(0, 80));
      await response.arrayBuffer();
      traceIds.push(/00-([0-9a-f]{32})-/.exec(response.headers.get('server-timing') ?? '')![1]!);
    }
    const spansOf = () => receiver.serverSpans().filter((span) => traceIds.includes(span.traceId));
    await receiver.waitFor(() => spansOf().length === malformed.length);
    for (const span of spansOf()) {
      assert.equal(span.parentSpanId, '', 'a malformed traceparent starts a new trace');
      assert.notEqual(span.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.deepEqual([span.attributes['user.id'], span.attributes['app.region']], [undefined, undefined], 'no attribute from malformed baggage');
    }
  });

  it('answers a method a route does not serve with 405, its Allow header and JSON, counted under the route template', async () => {
    for (const [method, path] of [
      ['POST', '/api/users'],
      ['OPTIONS', '/api/orders'],
      ['DELETE', '/metrics'],
    ] as const) {
      const response = await fetch(`${service.baseUrl}${path}`, { method });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
      assert.deepEqual(await response.json(), { error: 'method_not_allowed', method, allow: ['GET', 'HEAD'] });
    }
    const exposition = await (await fetch(`${service.baseUrl}/metrics`)).text();
    assert.match(exposition, /^http_requests_total\{method="POST",route="\/api\/users",status_code="405"[^}]*\} 1$/m);
    assert.match(exposition, /^http_requests_total\{method="OPTIONS",route="\/api\/orders",status_code="405"[^}]*\} 1$/m);
    await receiver.waitFor((spans) => spans.some((span) => span.name === 'DELETE /metrics'));
    const span = receiver.serverSpans().find((candidate) => candidate.name === 'DELETE /metrics')!;
    assert.deepEqual([span.attributes['http.route'], span.attributes['http.response.status_code']], ['/metrics', 405]);
  });

  it('answers a 2 MB fault body with 413 and closes that connection, so the requests after it succeed', async () => {
    const token = 'bad-input-admin-token-0123';
    const admin = await startServiceWithReceiver({ ADMIN_TOKEN: token });
    try {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const fault = JSON.stringify({ route: '/api/users', slow_probability: 0, added_latency_ms: 0, duration_seconds: 1 });
      for (let round = 0; round < 5; round += 1) {
        const tooLarge = await fetch(`${admin.service.baseUrl}/admin/faults`, { method: 'POST', headers, body: ' '.repeat(2_000_000) });
        assert.equal(tooLarge.status, 413);
        assert.equal(tooLarge.headers.get('connection'), 'close', 'the unread rest of the body ends the connection');
        assert.deepEqual(await tooLarge.json(), { error: 'payload_too_large', max_bytes: 1024 });
        assert.equal((await fetch(`${admin.service.baseUrl}/admin/faults`, { method: 'POST', headers, body: fault })).status, 201, `round ${round}`);
      }
    } finally {
      await admin.stop();
    }
  });

  it('answers oversized headers with 431 JSON before they reach the app', async () => {
    const response = await fetch(`${service.baseUrl}/api/users`, { headers: { 'x-padding': 'x'.repeat(20_000) } });
    assert.equal(response.status, 431);
    assert.deepEqual(await response.json(), { error: 'headers_too_large' });
  });

  it('answers random query strings, paths, methods, trace context and baggage with JSON, never 5xx (property)', async () => {
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'BREW');
    const route = fc.constantFrom('/api/users', '/api/orders', '/health', '/metrics', '/admin/faults', '/');
    const header = fc.string({ maxLength: 300 }).map((value) => value.replace(/[^\x20-\x7e]/g, ''));
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(methods, fc.oneof(route, fc.webPath()), fc.webQueryParameters(), header, header, async (method, path, query, traceparent, baggage) => {
        tried += 1;
        const response = await fetch(`${service.baseUrl}${path.startsWith('/') ? path : `/${path}`}?${query}`, { method, headers: { traceparent, baggage } });
        const text = await response.text();
        if (response.status >= 500) return false;
        // /metrics is the exposition format; every other body is JSON.
        if (!path.startsWith('/metrics') || method !== 'GET') JSON.parse(text);
        return true;
      }),
      { numRuns: 500, seed: 7 },
    );
    console.log(`bad input: ${tried} random requests (method, path, query, traceparent, baggage): no 5xx, all JSON`);
  });

  it('keeps the series count bounded under 10,000 random paths and methods', async () => {
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'BREW', 'X-RANDOM'];
    const samples = fc.sample(fc.tuple(fc.constantFrom(...methods), fc.webPath(), fc.webQueryParameters()), { numRuns: 10_000, seed: 42 });
    const statuses = new Map<number, number>();
    for (const [method, path, query] of samples) {
      const response = await fetch(`${service.baseUrl}${path.startsWith('/') ? path : `/${path}`}?${query}`, { method });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await response.arrayBuffer();
    }

    const exposition = await (await fetch(`${service.baseUrl}/metrics`)).text();
    const series = exposition.split('\n').filter((line) => line.startsWith('http_requests_total{'));
    const routes = new Set(series.map((line) => /route="([^"]*)"/.exec(line)![1]));
    // A route label is a template the service serves (a 405 counts under it) or "unmatched". Bound: "unmatched" × 10
    // method values (9 known + _OTHER) × 404, plus per template GET and HEAD × (200, 400) and the 8 others × 405.
    const templates = ['/api/users', '/api/orders', '/health', '/ready', '/metrics'];
    assert.ok([...routes].every((route) => [...templates, 'unmatched'].includes(route!)), [...routes].join());
    const bound = 10 + templates.length * (2 * 2 + 8);
    assert.ok(series.length <= bound, `${series.length} request series after 10,000 random requests`);
    console.log(`bad input: 10,000 random requests -> ${series.length} http_requests_total series (bound ${bound}), statuses ${JSON.stringify([...statuses])}`);
  });
});
