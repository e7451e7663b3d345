// The one source of server spans and request metrics. Compared with the HTTP instrumentation's server span, it
// knows the route template (for the span name, `http.route` and the metric labels) and reads `traceparent` from
// the Node request's already-parsed headers instead of building a web Headers object for it.
import {
  type Context as OtelContext,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  defaultTextMapGetter,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { HttpBindings } from '@hono/node-server';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { Context, MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import { matchedRoutes } from 'hono/route';
import { ATTR_EXEMPLAR, ATTR_REGION, ATTR_USER_ID, BAGGAGE_REGION, BAGGAGE_USER_ID } from '../../telemetry/attributes.ts';
import type { ExemplarPolicy } from '../../telemetry/exemplar-policy.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { type ExemplarLabels, type RequestMetrics, UNMATCHED_ROUTE } from '../../telemetry/metrics.ts';

interface TelemetryDeps {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly metrics: RequestMetrics;
  readonly exemplarPolicy: ExemplarPolicy;
  readonly logger: Logger;
  readonly slowRequestThresholdSeconds: number;
  readonly traceUrl: (traceId: string) => string;
}

/**
 * Bindings of @hono/node-server (absent when the app is called in-process with `app.request()`), and the route
 * template of a request that no route handled but whose path a route serves (a 405), set by whoever answers it.
 */
export type NodeBindings = { Bindings: Partial<HttpBindings>; Variables: { routeTemplate?: string } };

/** The message of the warning written for each slow request (its log record's body; the dashboard selects it). */
export const SLOW_REQUEST_MESSAGE = 'slow request';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

const webHeadersGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

export function serverTelemetry(deps: TelemetryDeps): MiddlewareHandler<NodeBindings> {
  return async (c, next) => {
    const startedAt = performance.now();
    // Unknown methods become one value, as the semantic conventions say, so they cannot grow the series count.
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : '_OTHER';
    const parentContext = extractContext(deps.propagator, c);
    const span = deps.tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: c.req.path, [ATTR_URL_SCHEME]: 'http' } },
      parentContext,
    );
    const baggage = propagation.getBaggage(parentContext);
    const userId = baggage?.getEntry(BAGGAGE_USER_ID)?.value;
    const region = baggage?.getEntry(BAGGAGE_REGION)?.value;
    if (userId !== undefined) span.setAttribute(ATTR_USER_ID, userId);
    if (region !== undefined) span.setAttribute(ATTR_REGION, region);

    const spanContext = span.spanContext();
    setServerTiming(c, `traceparent;desc="00-${spanContext.traceId}-${spanContext.spanId}-0${spanContext.traceFlags & TraceFlags.SAMPLED}"`);
    const spanActive = trace.setSpan(parentContext, span);
    await context.with(spanActive, next);

    const durationSeconds = (performance.now() - startedAt) / 1000;
    const route = routeTemplate(c);
    const statusCode = c.res.status;
    const errorType = serverErrorType(statusCode, c.error);
    span.updateName(route === UNMATCHED_ROUTE ? method : `${method} ${route}`);
    span.setAttributes({ [ATTR_HTTP_ROUTE]: route, [ATTR_HTTP_RESPONSE_STATUS_CODE]: statusCode });
    if (errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }

    // Only a sampled span is exported, so only a sampled span may be an exemplar: no dot without its trace.
    const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
    const exemplar: ExemplarLabels | undefined =
      sampled && deps.exemplarPolicy.shouldAttach({ route, durationSeconds, isError: errorType !== undefined })
        ? { trace_id: spanContext.traceId, span_id: spanContext.spanId }
        : undefined;
    if (exemplar !== undefined) span.setAttribute(ATTR_EXEMPLAR, true);
    deps.metrics.record({ method, route, statusCode, durationSeconds, region, errorType, exemplar });

    // Written in the span's context: the line's OpenTelemetry log record takes its trace and span IDs from there.
    if (durationSeconds >= deps.slowRequestThresholdSeconds) context.with(spanActive, () => warnSlowRequest(deps, span, route, durationSeconds));
    span.end();
  };
}

/**
 * Sets the server-timing header before the handler runs. On Node it goes straight onto the Node response (which
 * merges it into the head that @hono/node-server writes), sparing Hono a web Headers object per request; setting a
 * header on a finished Hono response would even copy the response. In-process (`app.request()`) Hono sets it.
 */
function setServerTiming(c: Context<NodeBindings>, value: string): void {
  const outgoing = c.env?.outgoing;
  if (outgoing === undefined) c.header('server-timing', value);
  else outgoing.setHeader('server-timing', value);
}

function extractContext(propagator: TextMapPropagator, c: Context<NodeBindings>): OtelContext {
  const incoming = c.env?.incoming;
  return incoming === undefined
    ? propagator.extract(ROOT_CONTEXT, c.req.raw.headers, webHeadersGetter)
    : propagator.extract(ROOT_CONTEXT, incoming.headers, defaultTextMapGetter);
}

/** The template of the route that handled the request or refused its method (never the raw path), or one fixed value. */
function routeTemplate(c: Context<NodeBindings>): string {
  return handlerTemplate(matchedRoutes(c)) ?? c.get('routeTemplate') ?? UNMATCHED_ROUTE;
}

/** The template of the last handler among `routes`; middleware is registered for every method ('ALL'), handlers not. */
export function handlerTemplate(routes: readonly RouterRoute[]): string | undefined {
  return routes.findLast((route) => route.method !== 'ALL')?.path;
}

/** A bounded error type for 5xx responses: the exception's class name, else the status code. */
function serverErrorType(statusCode: number, error: Error | undefined): string | undefined {
  if (statusCode < 500) return undefined;
  const name = error?.name.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40);
  return name === undefined || name === '' ? String(statusCode) : name;
}

function warnSlowRequest(deps: TelemetryDeps, span: Span, route: string, durationSeconds: number): void {
  const { traceId, spanId } = span.spanContext();
  deps.logger.warn(
    {
      trace_id: traceId,
      span_id: spanId,
      route,
      duration_seconds: Number(durationSeconds.toFixed(3)),
      trace_url: deps.traceUrl(traceId),
    },
    SLOW_REQUEST_MESSAGE,
  );
}
