// Wires the service: probes and /metrics first (untraced), then the telemetry middleware, the 405 answer for a path
// served with other methods, then the API routes and, with an admin token, the fault switch, whose state /metrics shows.
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { FaultSwitch, showFaultsOnMetrics } from '../domain/faults.ts';
import { PaymentServiceError, type OrdersSettings } from '../domain/orders.ts';
import type { Simulation } from '../domain/simulation.ts';
import type { UsersSettings } from '../domain/users.ts';
import type { ExemplarPolicy } from '../telemetry/exemplar-policy.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { RequestMetrics } from '../telemetry/metrics.ts';
import { handlerTemplate, type NodeBindings, serverTelemetry } from './middleware/telemetry.ts';
import { adminRoutes } from './routes/admin.ts';
import { ordersRoutes } from './routes/orders.ts';
import { ORDERS_PATH, USERS_PATH } from './routes/paths.ts';
import { probeRoutes } from './routes/probes.ts';
import { usersRoutes } from './routes/users.ts';

/** The app's share of the configuration. */
export interface AppSettings {
  readonly users: UsersSettings;
  readonly orders: OrdersSettings;
  /** Bearer token of the fault switch; the switch is off (404) without one. */
  readonly adminToken: string | undefined;
  readonly slowRequestThresholdSeconds: number;
  /** The URL of one trace for a person to open, as the slow-request warning prints it. */
  readonly traceUrl: (traceId: string) => string;
}

interface AppDeps {
  readonly settings: AppSettings;
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
  showFaultsOnMetrics(faults, deps.metrics);
  const random = deps.random ?? Math.random;
  const simulationOf = (route: string): Simulation => ({ tracer: deps.tracer, random, injectedFault: () => faults.effectOn(route, random) });
  const app = new Hono<NodeBindings>();
  app.route('/', probeRoutes(deps.metrics, deps.isReady));
  app.use(
    serverTelemetry({
      ...deps,
      slowRequestThresholdSeconds: deps.settings.slowRequestThresholdSeconds,
      traceUrl: deps.settings.traceUrl,
    }),
  );
  // Inside the telemetry middleware, so the 405 is what metrics and spans record. OPTIONS gets the 405 too: no
  // route serves it (no browser calls this API across origins, so there is no CORS preflight to answer), and the
  // Allow header already tells the caller what OPTIONS would.
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, allow) => {
        c.set('routeTemplate', templateServing(app, allow[0]!, c.req.path));
        return c.json({ error: 'method_not_allowed', method: c.req.method, allow }, 405, { Allow: allow.join(', ') });
      },
    }),
  );
  app.route(USERS_PATH, usersRoutes(simulationOf(USERS_PATH), deps.settings.users));
  app.route(ORDERS_PATH, ordersRoutes(simulationOf(ORDERS_PATH), deps.settings.orders));
  if (deps.settings.adminToken !== undefined) app.route('/admin', adminRoutes(faults, deps.settings.adminToken));
  app.notFound((c) => c.json({ error: 'not_found', path: c.req.path }, 404));
  app.onError((error, c) => {
    // A middleware's own response (bearerAuth's challenge) as it made it; otherwise the exception's message as JSON.
    if (error instanceof HTTPException) return error.res === undefined ? c.json({ error: error.message }, error.status) : error.getResponse();
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    if (error instanceof PaymentServiceError) {
      return c.json({ error: 'payment_service_unavailable', trace_id: traceId }, 502);
    }
    deps.logger.error({ err: error }, 'unhandled error');
    return c.json({ error: 'internal_error', trace_id: traceId }, 500);
  });
  return app;
}

/** The template of the route that serves `path` with `method` (one its 405 allows), by asking the app's router. */
function templateServing(app: Hono<NodeBindings>, method: string, path: string): string | undefined {
  const [matches] = app.router.match(method, path);
  return handlerTemplate(matches.map(([[, route]]) => route));
}
