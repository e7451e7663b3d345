// The service's fast path: every simulated latency zero and no slow path or failure, unless a test asks for one.
// Shared by the tests and the benchmark (which measures the telemetry, not the simulated work).
export const FAST_ENV: Readonly<Record<string, string>> = {
  USERS_BASE_LATENCY_MS: '0',
  USERS_JITTER_MS: '0',
  USERS_SLOW_PROBABILITY: '0',
  ORDERS_FETCH_MIN_MS: '0',
  ORDERS_FETCH_MAX_MS: '0',
  PAYMENT_LATENCY_MS: '0',
  PAYMENT_SLOW_PROBABILITY: '0',
  PAYMENT_FAILURE_PROBABILITY: '0',
};
