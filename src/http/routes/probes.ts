// Liveness, readiness and the Prometheus scrape endpoint. Mounted before the telemetry middleware, so that
// scrapes and probes do not fill the traces and the request metrics.
import { type Context, Hono } from 'hono';
import { accepts } from 'hono/accepts';
import type { ExpositionFormat, RequestMetrics } from '../../telemetry/metrics.ts';

export function probeRoutes(metrics: RequestMetrics, isReady: () => boolean) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', (c) => (isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready' }, 503)))
    .get('/metrics', async (c) => {
      const { contentType, body } = await metrics.render(expositionFormat(c));
      return c.body(body, 200, { 'content-type': contentType });
    });
}

const OPENMETRICS: ExpositionFormat = 'application/openmetrics-text';
const PROMETHEUS_TEXT: ExpositionFormat = 'text/plain';

/**
 * OpenMetrics (the format with exemplars) when the scraper ranks it above the text format, as Prometheus does by
 * default; the text format otherwise, and to a client that names neither (Hono's `accepts` matches no type to a
 * bare wildcard). `accepts` ranks by q-value and ignores the other parameters (OpenMetrics' `version=`, Prometheus
 * 3's `escaping=`), so every OpenMetrics version asked for is answered with 1.0.0, the one the client renders.
 */
function expositionFormat(c: Context): ExpositionFormat {
  return accepts(c, { header: 'Accept', supports: [OPENMETRICS, PROMETHEUS_TEXT], default: PROMETHEUS_TEXT }) === OPENMETRICS ? OPENMETRICS : PROMETHEUS_TEXT;
}
