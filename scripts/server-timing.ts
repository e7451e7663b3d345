// The service names each response's trace in its `server-timing` header (traceparent;desc="00-<trace>-<span>-01"),
// so a client can go from a response to its trace: the load script's summary, the tests and e2e read it here.

const traceparentOf = (response: Response) => /\b00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})\b/.exec(response.headers.get('server-timing') ?? '');

/** The trace ID a response carries in `server-timing`, or undefined when it carries none. */
export function traceIdOf(response: Response): string | undefined {
  return traceparentOf(response)?.[1];
}

/**
 * The trace ID of a response whose trace was recorded, which may have a trace to open; undefined when none was:
 * tracing off (the all-zero ID) or not sampled at the head (trace flags without the sampled bit).
 */
export function sampledTraceIdOf(response: Response): string | undefined {
  const traceparent = traceparentOf(response);
  if (traceparent === null || /^0+$/.test(traceparent[1]!) || (Number.parseInt(traceparent[2]!, 16) & 1) === 0) return undefined;
  return traceparent[1];
}
