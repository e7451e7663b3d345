// Liveness, readiness and the Prometheus scrape endpoint. Mounted before the telemetry middleware, so that
// scrapes and probes do not fill the traces and the request metrics.
import { Hono } from 'hono';
import type { RequestMetrics } from '../../telemetry/metrics.ts';

export function probeRoutes(metrics: RequestMetrics, isReady: () => boolean) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', (c) => (isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready' }, 503)))
    .get('/metrics', async (c) => {
      const { contentType, body } = await metrics.render(c.req.header('accept'));
      return c.body(body, 200, { 'content-type': contentType });
    });
}
