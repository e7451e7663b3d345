// The service names each response's trace in its `server-timing` header (traceparent;desc="00-<trace>-<span>-01"),
// so a client can go from a response to its trace: the load script's summary, the tests and e2e read it here.

/** The trace ID a response carries in `server-timing`, or undefined when it carries none. */
export function traceIdOf(response: Response): string | undefined {
  return /\b00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\b/.exec(response.headers.get('server-timing') ?? '')?.[1];
}
