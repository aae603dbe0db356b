import { z } from 'zod';

/**
 * Ids that name Redis keys, BullMQ queues and URL path segments (worker ids, graph ids, key
 * prefixes) share one conservative alphabet: no braces, colons, slashes or spaces. Defined here
 * once; every boundary that takes one validates it with these schemas.
 */
const ALPHABET = 'A-Z a-z 0-9 _ . -';
/** Characters outside the alphabet, to make an id out of a host name (replace them with '-'). */
export const NOT_ID_CHAR = /[^A-Za-z0-9_.-]/g;

function idOf(what: string, max: number): z.ZodString {
  return z.string().regex(new RegExp(`^[A-Za-z0-9_.-]{1,${max}}$`), `${what} must be 1-${max} characters of ${ALPHABET}`);
}

export const WorkerId = idOf('worker id', 64);
export type WorkerId = z.infer<typeof WorkerId>;
export const GraphId = idOf('graph id', 128);
export type GraphId = z.infer<typeof GraphId>;
/** A cluster's key prefix in Redis. */
export const KeyPrefix = idOf('prefix', 64);

/** pino's levels, for every process's --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LogLevel = z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` });
export type LogLevel = z.infer<typeof LogLevel>;
