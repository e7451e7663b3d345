import { Hono } from 'hono';
import { listUsers, type UsersSettings } from '../../domain/users.ts';
import type { Simulation } from '../../domain/simulation.ts';
import { listQuerySchema, validate } from '../validation.ts';

export function usersRoutes(simulation: Simulation, settings: UsersSettings) {
  return new Hono().get('/', validate('query', listQuerySchema), async (c) => {
    const users = await listUsers(simulation, settings, c.req.valid('query'));
    return c.json({ users });
  });
}
