// Bare Hono: the service's route handlers (fast path) with no telemetry at all, the limit we compare against.
// Also the app of the "stock" server, which adds the OpenTelemetry docs' setup through --import.
import { trace } from '@opentelemetry/api';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { loadConfig } from '../../src/config.ts';
import { NO_EFFECT } from '../../src/domain/faults.ts';
import { ordersRoutes } from '../../src/http/routes/orders.ts';
import { ORDERS_PATH, USERS_PATH } from '../../src/http/routes/paths.ts';
import { usersRoutes } from '../../src/http/routes/users.ts';

const config = loadConfig();
// The global tracer: a no-op here, the SDK's tracer under the stock setup (so its child spans are real there).
const simulation = { tracer: trace.getTracer('bench'), random: Math.random, injectedFault: () => NO_EFFECT };
const app = new Hono()
  .get('/health', (c) => c.json({ status: 'ok' }))
  .route(USERS_PATH, usersRoutes(simulation, config.users))
  .route(ORDERS_PATH, ordersRoutes(simulation, config.orders));
serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (address) => console.log(JSON.stringify({ msg: 'listening', port: address.port })));
// Exit on a signal like the service does, so a profile (--cpu-prof) is written.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
