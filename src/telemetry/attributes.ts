// Span attribute and baggage keys that the stable @opentelemetry/semantic-conventions entry point does not export:
// the demo's own and two incubating ones. In one place because other files name some of them too: the Collector's
// tail-sampling policy keeps traces marked `exemplar`, its servicegraph connector reads `peer.service`.

/** Set on the server span when a metric exemplar points at its trace: tail sampling keeps such traces. */
export const ATTR_EXEMPLAR = 'exemplar';
/** The simulated database query took the slow path. */
export const ATTR_SLOW_QUERY = 'slow_query';
/** The simulated payment service answered slowly. */
export const ATTR_EXTERNAL_SERVICE_SLOW = 'external_service_slow';
/** From the W3C baggage of the request. `user.id` is the semantic-convention key; region is the demo's own. */
export const ATTR_USER_ID = 'user.id';
export const ATTR_REGION = 'app.region';

/** Latency an injected fault (POST /admin/faults) added to this span's work. */
export const ATTR_FAULT_ADDED_LATENCY_MS = 'fault.added_latency_ms';

/** The baggage entries the service reads. */
export const BAGGAGE_USER_ID = 'user_id';
export const BAGGAGE_REGION = 'region';
/** The remote service a span calls (incubating semantic convention, so copied here): a node of the service graph. */
export const ATTR_PEER_SERVICE_NAME = 'peer.service';
