// The simulated user directory: one database query, 20 ms plus jitter, and now and then a slow one (800 ms).
import { SpanKind } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import { ATTR_SLOW_QUERY } from '../telemetry/attributes.ts';
import { inSpan, type Simulation, work } from './simulation.ts';

export interface UsersSettings {
  readonly baseLatencyMs: number;
  readonly jitterMs: number;
  readonly slowProbability: number;
  readonly slowLatencyMs: number;
}

interface User {
  readonly id: number;
  readonly name: string;
  readonly region: string;
}

const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const QUERY = 'SELECT id, name, region FROM users WHERE ($1::text IS NULL OR region = $1) LIMIT $2';
/** The database the query runs in; the service graph (the Collector's servicegraph connector) draws it as the
 * node this service calls. */
export const USER_DATABASE = 'userdb';

export async function listUsers(
  simulation: Simulation,
  settings: UsersSettings,
  query: { readonly limit: number; readonly region?: string | undefined },
): Promise<User[]> {
  // A CLIENT span naming its database: the Collector's servicegraph connector draws an edge to a database node
  // named by db.namespace, since the database sends no spans of its own.
  const attributes = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [ATTR_DB_NAMESPACE]: USER_DATABASE,
    [ATTR_DB_OPERATION_NAME]: 'SELECT',
    [ATTR_DB_COLLECTION_NAME]: 'users',
    [ATTR_DB_QUERY_TEXT]: QUERY,
  };
  return inSpan(simulation.tracer, 'SELECT users', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const slow = simulation.random() < settings.slowProbability;
    span.setAttribute(ATTR_SLOW_QUERY, slow);
    const latency = slow ? settings.slowLatencyMs : settings.baseLatencyMs + simulation.random() * settings.jitterMs;
    await work(simulation, span, latency);
    return Array.from({ length: query.limit }, (_, index) => ({
      id: index + 1,
      name: `user-${index + 1}`,
      region: query.region ?? REGIONS[index % REGIONS.length]!,
    }));
  });
}
