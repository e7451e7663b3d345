// The simulated order history: fetch the orders (30-50 ms), then ask the payment service for their status
// (50 ms; now and then it is slow, 2 s, and now and then it fails). With PAYMENT_SERVICE_URL the question goes to a
// real service over HTTP instead, so an outgoing call carries the trace on (OpenTelemetry's fetch instrumentation).
import { type Span, SpanKind } from '@opentelemetry/api';
import { ATTR_EXTERNAL_SERVICE_SLOW, ATTR_PEER_SERVICE_NAME } from '../telemetry/attributes.ts';
import { inSpan, type Simulation, wait, work } from './simulation.ts';

/** The remote service the payment check calls; the service graph (the Collector's servicegraph connector) draws it
 * as the node this service calls. */
export const PAYMENT_SERVICE = 'payment-service';

export interface OrdersSettings {
  readonly fetchMinMs: number;
  readonly fetchMaxMs: number;
  readonly paymentLatencyMs: number;
  readonly paymentSlowProbability: number;
  readonly paymentSlowLatencyMs: number;
  readonly paymentFailureProbability: number;
  readonly paymentServiceUrl: string | undefined;
}

interface Order {
  readonly id: number;
  readonly amountCents: number;
  readonly paymentStatus: 'paid' | 'pending';
}

/** The payment service did not answer: the request fails with 502, counted in http_errors_total. */
export class PaymentServiceError extends Error {
  override name = 'PaymentServiceError';
}

export async function listOrders(
  simulation: Simulation,
  settings: OrdersSettings,
  query: { readonly limit: number },
): Promise<Order[]> {
  const ids = await inSpan(simulation.tracer, 'fetchOrders', { attributes: { 'orders.limit': query.limit } }, async () => {
    await wait(settings.fetchMinMs + simulation.random() * (settings.fetchMaxMs - settings.fetchMinMs));
    return Array.from({ length: query.limit }, (_, index) => index + 1);
  });
  // Simulated, a CLIENT span naming its peer: the payment service sends no spans of its own, so the Collector's
  // servicegraph connector draws it as a node of its own (a "virtual node") from peer.service. Called for real, the
  // fetch instrumentation's span is the CLIENT span, and this one only groups the call (INTERNAL), so that the
  // service graph does not draw the call twice.
  const kind = settings.paymentServiceUrl === undefined ? SpanKind.CLIENT : SpanKind.INTERNAL;
  const payment = { kind, attributes: { [ATTR_PEER_SERVICE_NAME]: PAYMENT_SERVICE } };
  return inSpan(simulation.tracer, 'checkPaymentStatus', payment, async (span) => {
    if (settings.paymentServiceUrl !== undefined) await askPaymentService(settings.paymentServiceUrl);
    else await simulatePaymentService(simulation, settings, span);
    return ids.map((id) => ({ id, amountCents: 1000 + id * 250, paymentStatus: id % 3 === 0 ? 'pending' : 'paid' }));
  });
}

/** A payment service that does not answer within this long fails the request (502) rather than holding it open. */
const PAYMENT_TIMEOUT_MS = 5000;

async function askPaymentService(url: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(PAYMENT_TIMEOUT_MS) });
    await response.arrayBuffer();
  } catch (error) {
    throw new PaymentServiceError(`payment service unreachable: ${(error as Error).message}`);
  }
  if (!response.ok) throw new PaymentServiceError(`payment service answered ${response.status}`);
}

async function simulatePaymentService(simulation: Simulation, settings: OrdersSettings, span: Span): Promise<void> {
  const slow = simulation.random() < settings.paymentSlowProbability;
  const fails = simulation.random() < settings.paymentFailureProbability;
  span.setAttribute(ATTR_EXTERNAL_SERVICE_SLOW, slow);
  await work(simulation, span, slow ? settings.paymentSlowLatencyMs : settings.paymentLatencyMs);
  if (fails) throw new PaymentServiceError('payment service unavailable');
}
