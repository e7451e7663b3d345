import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultSwitch } from '../src/domain/faults.ts';
import { scrape, testApp } from '../harness/app.ts';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
const fault = { route: '/api/users', slow_probability: 1, added_latency_ms: 150, duration_seconds: 60 };

function post(app: ReturnType<typeof testApp>['app'], body: unknown, headers: Record<string, string> = auth) {
  return app.request('/admin/faults', { method: 'POST', headers: { ...json, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('fault switch', () => {
  it('does not exist without an admin token: 404', async () => {
    const { app } = testApp();
    assert.equal((await post(app, fault)).status, 404);
    assert.equal((await app.request('/admin/faults', { headers: auth })).status, 404);
  });

  it('answers a missing, other-scheme or wrong token with 401 and an RFC 6750 challenge, a malformed bearer token with 400, changing nothing', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    const refusal = async (headers: Record<string, string>) => {
      const response = await post(app, fault, headers);
      return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() };
    };
    const missing = { status: 401, challenge: 'Bearer realm="admin"', body: { error: 'unauthorized', detail: 'send the admin token as "Authorization: Bearer <token>"' } };
    assert.deepEqual(await refusal({}), missing, 'no header');
    assert.deepEqual(await refusal({ authorization: 'Basic abc' }), missing, 'another scheme');
    const wrong = { status: 401, challenge: 'Bearer error="invalid_token"', body: { error: 'invalid_token', detail: 'wrong admin token' } };
    assert.deepEqual(await refusal({ authorization: `Bearer ${TOKEN}x` }), wrong, 'one character more');
    assert.deepEqual(await refusal({ authorization: 'Bearer short' }), wrong, 'a shorter token');
    assert.deepEqual(await refusal({ authorization: 'Bearer two words' }), {
      status: 400,
      challenge: 'Bearer error="invalid_request"',
      body: { error: 'invalid_request', detail: 'malformed bearer token' },
    });
    assert.deepEqual(await (await app.request('/admin/faults', { headers: auth })).json(), { active: false });
  });

  const badBodies: [string, unknown, string][] = [
    ['an unknown route', { ...fault, route: '/api/everything' }, 'route'],
    ['a probability above 1', { ...fault, slow_probability: 1.5 }, 'slow_probability'],
    ['a negative latency', { ...fault, added_latency_ms: -1 }, 'added_latency_ms'],
    ['an error probability above 1', { ...fault, error_probability: 2 }, 'error_probability'],
    ['more than 10 minutes', { ...fault, duration_seconds: 601 }, 'duration_seconds'],
    ['a missing field', { route: '/api/users' }, 'slow_probability'],
    ['an unknown field', { ...fault, colour: 'red' }, 'colour'],
  ];
  for (const [what, body, field] of badBodies) {
    it(`answers ${what} with 400 naming ${field}, and changes nothing`, async () => {
      const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
      const response = await post(app, body);
      assert.equal(response.status, 400);
      const answer = (await response.json()) as { problems: { field: string }[] };
      assert.equal(answer.problems[0]?.field, field);
      assert.deepEqual(await (await app.request('/admin/faults', { headers: auth })).json(), { active: false });
    });
  }

  it('answers malformed JSON with 400', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    const response = await post(app, '{"route": ');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'Malformed JSON in request body' });
  });

  it('answers a body not declared JSON with 415, naming the type it got, and changes nothing', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain;charset=utf-8', '']) {
      const response = await app.request('/admin/faults', { method: 'POST', headers: { ...auth, 'content-type': contentType }, body: JSON.stringify(fault) });
      assert.equal(response.status, 415, contentType);
      assert.deepEqual(await response.json(), { error: 'unsupported_media_type', content_type: contentType.split(';')[0], expected: 'application/json' });
    }
    assert.deepEqual(await (await app.request('/admin/faults', { headers: auth })).json(), { active: false });
  });

  it('answers a 2 MiB body with 413 after reading at most a few KiB of it', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    const CHUNK = 512;
    const SIZE = 2 * 1024 * 1024;
    const declared = { ...auth, ...json, 'content-length': String(SIZE) };
    for (const headers of [declared, { ...auth, ...json }]) {
      let read = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (read >= SIZE) return controller.close();
          read += CHUNK;
          controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
        },
      });
      const request = new Request('http://localhost/admin/faults', { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
      const response = await app.request(request);
      const how = 'content-length' in headers ? 'with its length declared' : 'streamed';
      assert.equal(response.status, 413, how);
      assert.deepEqual(await response.json(), { error: 'payload_too_large', max_bytes: 1024 });
      assert.ok(read <= 4096, `${how}: ${read} bytes read`);
    }
  });

  it('answers a method /admin/faults does not serve with 405 and Allow once the token is right, 401 before', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    assert.equal((await app.request('/admin/faults', { method: 'PUT' })).status, 401, 'no method list without the token');
    const response = await app.request('/admin/faults', { method: 'PUT', headers: auth });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD, POST, DELETE');
    assert.deepEqual(await response.json(), { error: 'method_not_allowed', method: 'PUT', allow: ['GET', 'HEAD', 'POST', 'DELETE'] });
  });

  it('slows the route, marks the span, shows a gauge, and expires on time', async () => {
    let now = 1_000_000;
    const { app, exporter } = testApp({ env: { ADMIN_TOKEN: TOKEN }, faults: new FaultSwitch(() => now) });
    const created = await post(app, fault);
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), {
      active: true,
      route: '/api/users',
      slow_probability: 1,
      added_latency_ms: 150,
      error_probability: 0,
      expires_at: new Date(1_060_000).toISOString(),
    });

    const started = performance.now();
    await app.request('/api/users');
    assert.ok(performance.now() - started >= 145, 'the fault added its latency');
    const query = exporter.getFinishedSpans().find((span) => span.name === 'SELECT users')!;
    assert.equal(query.attributes['fault.added_latency_ms'], 150);
    const orders = performance.now();
    await app.request('/api/orders');
    assert.ok(performance.now() - orders < 100, 'other routes are untouched');

    assert.match(await scrape(app), /^fault_injection_active\{route="\/api\/users"\} 1$/m);
    assert.match(await scrape(app), /^fault_injection_added_latency_seconds\{route="\/api\/users"\} 0.15$/m);

    now += 59_999;
    assert.equal(((await (await app.request('/admin/faults', { headers: auth })).json()) as { active: boolean }).active, true);
    now += 1;
    assert.deepEqual(await (await app.request('/admin/faults', { headers: auth })).json(), { active: false });
    assert.doesNotMatch(await scrape(app), /^fault_injection_active\{/m);
    const after = performance.now();
    await app.request('/api/users');
    assert.ok(performance.now() - after < 100, 'no latency once expired');
  });

  it('turns an injected exception into a 500 with the trace ID, counted with a counter exemplar', async () => {
    const { app, exporter } = testApp({ env: { ADMIN_TOKEN: TOKEN, EXEMPLAR_POLICY: 'always' } });
    await post(app, { ...fault, route: '/api/orders', slow_probability: 0, error_probability: 1 });
    const response = await app.request('/api/orders');
    assert.equal(response.status, 500);
    const server = exporter.getFinishedSpans().filter((span) => span.kind === 1).at(-1)!;
    assert.deepEqual(await response.json(), { error: 'internal_error', trace_id: server.spanContext().traceId });
    assert.equal(server.status.code, 2, 'server span status ERROR');
    const payment = exporter.getFinishedSpans().find((span) => span.name === 'checkPaymentStatus')!;
    assert.equal(payment.events[0]?.name, 'exception');
    assert.match(
      await scrape(app),
      new RegExp(`^http_errors_total\\{method="GET",route="/api/orders",status_code="500",error_type="InjectedFaultError"\\} 1 # \\{trace_id="${server.spanContext().traceId}"`, 'm'),
    );
    assert.equal((await app.request('/health')).status, 200, 'the app keeps serving');
  });

  it('ends a fault on DELETE', async () => {
    const { app } = testApp({ env: { ADMIN_TOKEN: TOKEN } });
    assert.equal((await post(app, fault)).status, 201, 'a fault in force first');
    const response = await app.request('/admin/faults', { method: 'DELETE', headers: auth });
    assert.deepEqual(await response.json(), { active: false });
  });
});
