import { ErrorResponse, HealthResponse, TesseraError, UnavailableError } from '@tessera/protocol';
import { describeCause } from './transport.js';

/** One try may hang on a half-open socket: it gets at most this long. */
const ATTEMPT_MS = 2000;

/**
 * Wait until GET /health at `base` says ok, retrying for `timeoutMs` (a scheduler that is still
 * starting, or restarting). A server that answers but is no scheduler fails at once.
 */
export async function waitHealthy(base: string, timeoutMs: number): Promise<HealthResponse> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(Math.max(1, Math.min(ATTEMPT_MS, left))) });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const health = HealthResponse.safeParse(body);
      if (health.success && health.data.ok && res.ok) return health.data;
      if (health.success) last = `it is not healthy (${health.data.workers} workers)`;
      else {
        const err = ErrorResponse.safeParse(body);
        if (err.success) last = err.data.error.message;
        // Answered, but not as a scheduler does (a 404 page, some other service): no point waiting.
        else if (res.status < 500) {
          throw new UnavailableError(`${base} is not a Tessera scheduler: GET /health answered ${res.status} ${text.slice(0, 100)}`);
        } else last = `GET /health answered ${res.status}`;
      }
    } catch (err) {
      if (err instanceof TesseraError) throw err;
      last = describeCause(err);
    }
    if (Date.now() >= deadline) {
      throw new UnavailableError(`no healthy Tessera scheduler at ${base} (tried for ${timeoutMs / 1000} s): ${last}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000, Math.max(0, deadline - Date.now()))));
  }
}
