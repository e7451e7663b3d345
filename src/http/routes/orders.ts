import { Hono } from 'hono';
import { listOrders, type OrdersSettings } from '../../domain/orders.ts';
import type { Simulation } from '../../domain/simulation.ts';
import { listQuerySchema, validate } from '../validation.ts';

export function ordersRoutes(simulation: Simulation, settings: OrdersSettings) {
  return new Hono().get('/', validate('query', listQuerySchema), async (c) => {
    const orders = await listOrders(simulation, settings, c.req.valid('query'));
    return c.json({ orders });
  });
}
