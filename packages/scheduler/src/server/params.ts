import { GraphId, InvalidArgumentError, TaskKey } from '@tessera/protocol';
import { z } from 'zod';

/**
 * Zod schemas of what arrives in URLs and headers, and the one helper that turns a failed parse
 * into an InvalidArgumentError (HTTP 400) naming the parameter.
 */

/** Graph ids name Redis keys: a conservative alphabet (the core makes `g<time>-<seq>`). */
export const GraphIdParam = GraphId;

/** Event ids are opaque to the HTTP layer (a store's stream id): printable ASCII, no spaces. */
export const EventIdParam = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'event id must be 1-128 printable ASCII characters');

export const GraphParams = z.object({ id: GraphIdParam });
export const ResultParams = z.object({ id: GraphIdParam, key: TaskKey });

export const EventsQuery = z.object({
  /** 1 (default): task and graph events; 0: graph events only. */
  tasks: z.enum(['0', '1'], { message: 'tasks must be 0 or 1' }).optional(),
  after: EventIdParam.optional(),
});

/** Parse or throw a 400 that says which parameter was wrong and why. */
export function parseParam<T extends z.ZodTypeAny>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.output<T>;
  const issue = r.error.issues[0];
  const name = issue && issue.path.length > 0 ? ` ${issue.path.join('.')}` : '';
  throw new InvalidArgumentError(`invalid ${where}${name}: ${issue?.message ?? 'malformed'}`);
}
