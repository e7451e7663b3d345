// Bad input gets a 400 with a JSON body that names each offending field and its rule, never a 5xx; a body that is
// not declared JSON gets a 415.
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
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

/** The media types Hono's JSON validator reads (application/json and application/*+json); it reads no other. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * 415 for a body not declared JSON. Without it the JSON validator would see no body at all and answer 400 listing
 * every field as missing, which hides the real mistake (a form post, a missing content-type).
 */
export const requireJsonBody: MiddlewareHandler = async (c, next) => {
  const mediaType = c.req.header('content-type')?.split(';')[0]?.trim() ?? '';
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    return c.json({ error: 'unsupported_media_type', content_type: mediaType, expected: 'application/json' }, 415);
  }
  await next();
  return undefined;
};
