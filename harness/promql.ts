// Grafana's dashboard variables in a PromQL expression replaced by values Prometheus accepts, so the tests and e2e
// can run the dashboard's own queries against a real Prometheus.
const SUBSTITUTIONS: Readonly<Record<string, string>> = {
  $__rate_interval: '1m',
  $__range: '15m',
  $route: '.+',
};

export function substituteDashboardVariables(expr: string): string {
  return Object.entries(SUBSTITUTIONS).reduce((promql, [variable, value]) => promql.replaceAll(variable, value), expr);
}
