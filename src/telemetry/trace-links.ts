// Links a person can open for a trace: Grafana Explore on the Tempo datasource, and Tempo's own API.
// Used by the slow-request log line, the load script's summary and the exemplars command.

/** Grafana Explore showing the trace, on the provisioned Tempo datasource (uid `tempo`). */
export function grafanaTraceUrl(grafanaUrl: string, traceId: string): string {
  const panes = {
    trace: {
      datasource: 'tempo',
      queries: [{ refId: 'A', datasource: { type: 'tempo', uid: 'tempo' }, queryType: 'traceql', query: traceId }],
      range: { from: 'now-1h', to: 'now' },
    },
  };
  return `${grafanaUrl.replace(/\/$/, '')}/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

/** Tempo's trace-by-ID API. */
export function tempoTraceUrl(tempoUrl: string, traceId: string): string {
  return `${tempoUrl.replace(/\/$/, '')}/api/traces/${traceId}`;
}
