import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether an Authorization header carries `Bearer <token>`, compared in constant time (both sides
 * hashed first, so lengths leak nothing either). The scheduler's API and the workers' peer servers both check tokens with it.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const given = m ? m[1]! : '';
  return timingSafeEqual(digest(given), digest(token)) && m !== null;
}

/** Headers that carry the token, or none without one. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
