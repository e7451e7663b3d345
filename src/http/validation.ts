// Bad input gets a 400 with a JSON body that names each offending field and its rule, never a 5xx.
import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import { z } from 'zod';

/**
 * zValidator with our 400 body: each problem's field and rule. The schemas are strict, so a typo in a parameter
 * name is refused (the problem names the unknown key) rather than silently ignored.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result, c) => {
    if (result.success) return undefined;
    const problems = result.error.issues.map((issue) => ({
      field: issue.path.length > 0 ? issue.path.join('.') : (unknownKeys(issue) ?? target),
      rule: issue.message,
    }));
    return c.json({ error: 'invalid_request', problems }, 400);
  });
}

function unknownKeys(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === 'unrecognized_keys' ? issue.keys.join(',') : undefined;
}

/** The query parameters both API routes take. */
export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  region: z.string().regex(/^[a-z0-9-]{1,32}$/, 'lowercase letters, digits and dashes, at most 32').optional(),
});
