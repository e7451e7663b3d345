// Wires the service: probes first (untraced), then the telemetry middleware, then the API routes.
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config.ts';
import { FaultSwitch } from '../domain/faults.ts';
import { PaymentServiceError } from '../domain/orders.ts';
import type { ExemplarPolicy } from '../telemetry/exemplar-policy.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { RequestMetrics } from '../telemetry/metrics.ts';
import { type NodeBindings, serverTelemetry } from './middleware/telemetry.ts';
import { adminRoutes } from './routes/admin.ts';
import { ordersRoutes } from './routes/orders.ts';
import { probeRoutes } from './routes/probes.ts';
import { usersRoutes } from './routes/users.ts';

export interface AppDeps {
  readonly config: Config;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly metrics: RequestMetrics;
  readonly exemplarPolicy: ExemplarPolicy;
  readonly logger: Logger;
  readonly isReady: () => boolean;
  readonly random?: () => number;
  /** Injected so tests can move time; one is made otherwise. */
  readonly faults?: FaultSwitch;
}

export function createApp(deps: AppDeps) {
  const faults = deps.faults ?? new FaultSwitch();
  deps.metrics.trackFaults(() => faults.active());
  const simulation = { tracer: deps.tracer, random: deps.random ?? Math.random, faults };
  const app = new Hono<NodeBindings>();
  app.route('/', probeRoutes(deps.metrics, deps.isReady));
  app.use(
    serverTelemetry({
      ...deps,
      slowRequestThresholdSeconds: deps.config.slowRequestThresholdSeconds,
      traceUrl: deps.config.traceUrl,
    }),
  );
  app.route('/api/users', usersRoutes(simulation, deps.config.users));
  app.route('/api/orders', ordersRoutes(simulation, deps.config.orders));
  if (deps.config.adminToken !== undefined) app.route('/admin', adminRoutes(faults, deps.config.adminToken));
  app.notFound((c) => c.json({ error: 'not_found', path: c.req.path }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    if (error instanceof PaymentServiceError) {
      return c.json({ error: 'payment_service_unavailable', trace_id: traceId }, 502);
    }
    deps.logger.error({ err: error }, 'unhandled error');
    return c.json({ error: 'internal_error', trace_id: traceId }, 500);
  });
  return app;
}
