// Liveness, readiness and the Prometheus scrape endpoint. Mounted before the telemetry middleware, so that
// scrapes and probes do not fill the traces and the request metrics.
import { Hono } from 'hono';
import type { ExpositionFormat, RequestMetrics } from '../../telemetry/metrics.ts';

export function probeRoutes(metrics: RequestMetrics, isReady: () => boolean) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', (c) => (isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready' }, 503)))
    .get('/metrics', async (c) => {
      const { contentType, body } = await metrics.render(expositionFormat(c.req.header('accept')));
      return c.body(body, 200, { 'content-type': contentType });
    });
}

/** OpenMetrics (with exemplars) when the Accept header lists it with a non-zero quality; text 0.0.4 otherwise. */
function expositionFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text/plain';
  const openMetrics = accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'application/openmetrics-text') return false;
    const quality = parameters.find((parameter) => parameter.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  });
  return openMetrics ? 'application/openmetrics-text' : 'text/plain';
}
