import { describe, expect, it } from 'vitest';
import { authHeaders, bearerMatches } from './auth.js';

const TOKEN = 'unit-test-token-0123456789';

describe('bearer token', () => {
  it('matches only `Bearer <token>` exactly', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    for (const h of [
      undefined,
      '',
      TOKEN,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${TOKEN}`,
      'Bearer ',
      `Bearer ${TOKEN} extra`,
    ]) {
      expect([h, bearerMatches(h, TOKEN)]).toEqual([h, false]);
    }
  });

  it('authHeaders carries the token, or nothing without one', () => {
    expect(authHeaders(TOKEN)).toEqual({ authorization: `Bearer ${TOKEN}` });
    expect(authHeaders(undefined)).toEqual({});
  });
});
