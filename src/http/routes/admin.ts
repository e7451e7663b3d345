// The guarded fault switch. Mounted only when ADMIN_TOKEN is set (otherwise /admin/* is a plain 404), and every
// request must carry it as a bearer token: 401 without one, 403 with a wrong one.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { type FaultSwitch, MAX_FAULT_SECONDS } from '../../domain/faults.ts';
import { validate } from '../validation.ts';
import { FAULT_ROUTES } from './paths.ts';

const faultSchema = z.strictObject({
  route: z.enum(FAULT_ROUTES),
  slow_probability: z.number().min(0).max(1),
  added_latency_ms: z.number().int().min(0).max(60_000),
  error_probability: z.number().min(0).max(1).default(0),
  duration_seconds: z.number().int().min(1).max(MAX_FAULT_SECONDS),
});

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
    .use(bearerToken(adminToken))
    .get('/faults', (c) => c.json(describe()))
    .post('/faults', validate('json', faultSchema), (c) => {
      const body = c.req.valid('json');
      faults.set({
        route: body.route,
        slowProbability: body.slow_probability,
        addedLatencyMs: body.added_latency_ms,
        errorProbability: body.error_probability,
        durationSeconds: body.duration_seconds,
      });
      return c.json(describe(), 201);
    })
    .delete('/faults', (c) => {
      faults.clear();
      return c.json(describe());
    });
}

function bearerToken(expected: string): MiddlewareHandler {
  // Digests have equal length, so timingSafeEqual compares in constant time whatever the presented length.
  const expectedDigest = sha256(expected);
  return async (c, next) => {
    const presented = /^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined) {
      c.header('www-authenticate', 'Bearer realm="admin"');
      return c.json({ error: 'unauthorized', detail: 'send the admin token as "Authorization: Bearer <token>"' }, 401);
    }
    if (!timingSafeEqual(sha256(presented), expectedDigest)) return c.json({ error: 'forbidden', detail: 'wrong admin token' }, 403);
    await next();
    return undefined;
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
