// The guarded fault switch. Mounted only when ADMIN_TOKEN is set (otherwise /admin/* is a plain 404), and every
// request must carry it as a bearer token, checked by Hono's bearerAuth (in constant time) and answered as RFC 6750
// says: 401 with a `WWW-Authenticate` challenge for a missing or wrong token, 400 for a malformed bearer header.
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { type FaultSwitch, MAX_FAULT_SECONDS } from '../../domain/faults.ts';
import { requireJsonBody, validate } from '../validation.ts';
import { FAULT_ROUTES } from './paths.ts';

const UNAUTHORIZED = { error: 'unauthorized', detail: 'send the admin token as "Authorization: Bearer <token>"' };
const CHALLENGE = 'Bearer realm="admin"';

const faultSchema = z.strictObject({
  route: z.enum(FAULT_ROUTES),
  slow_probability: z.number().min(0).max(1),
  added_latency_ms: z.number().int().min(0).max(60_000),
  error_probability: z.number().min(0).max(1).default(0),
  duration_seconds: z.number().int().min(1).max(MAX_FAULT_SECONDS),
});

/** A valid fault is under 200 bytes; anything much larger is refused before a byte of it is parsed. */
const MAX_FAULT_BODY_BYTES = 1024;

export function adminRoutes(faults: FaultSwitch, adminToken: string) {
  const describe = () => {
    const fault = faults.active();
    return fault === undefined
      ? { active: false }
      : {
          active: true,
          route: fault.route,
          slow_probability: fault.slowProbability,
          added_latency_ms: fault.addedLatencyMs,
          error_probability: fault.errorProbability,
          expires_at: new Date(fault.expiresAt).toISOString(),
        };
  };
  return new Hono()
    .use(
      bearerAuth({
        token: adminToken,
        noAuthenticationHeader: { message: UNAUTHORIZED, wwwAuthenticateHeader: CHALLENGE },
        // bearerAuth answers 400 to any header it cannot read; RFC 6750 §3.1 keeps 400 for a malformed bearer token and
        // treats another scheme (Basic ...) as no credentials: 401 with the bare challenge, as for no header.
        invalidAuthenticationHeader: {
          message: (c) =>
            /^bearer /i.test(c.req.header('authorization') ?? '')
              ? c.json({ error: 'invalid_request', detail: 'malformed bearer token' }, 400)
              : c.json(UNAUTHORIZED, 401, { 'WWW-Authenticate': CHALLENGE }),
        },
        invalidToken: { message: { error: 'invalid_token', detail: 'wrong admin token' } },
      }),
    )
    .get('/faults', (c) => c.json(describe()))
    .post(
      '/faults',
      bodyLimit({
        maxSize: MAX_FAULT_BODY_BYTES,
        // The rest of the body is never read, so the connection cannot carry another request: the client must not reuse it.
        onError: (c) => c.json({ error: 'payload_too_large', max_bytes: MAX_FAULT_BODY_BYTES }, 413, { connection: 'close' }),
      }),
      requireJsonBody,
      validate('json', faultSchema),
      (c) => {
        const body = c.req.valid('json');
        faults.set({
          route: body.route,
          slowProbability: body.slow_probability,
          addedLatencyMs: body.added_latency_ms,
          errorProbability: body.error_probability,
          durationSeconds: body.duration_seconds,
        });
        return c.json(describe(), 201);
      },
    )
    .delete('/faults', (c) => {
      faults.clear();
      return c.json(describe());
    });
}
