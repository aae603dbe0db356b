/** Backoff between tries at a scheduler that is away: 100 ms doubling to 2 s, with ±20% jitter so many clients do not come back in step. */
export function backoffMs(attempt: number): number {
  const base = Math.min(100 * 2 ** attempt, 2000);
  return base * (0.8 + 0.4 * Math.random());
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Seconds or an HTTP date in a Retry-After header, as ms from now (undefined when absent or
 * unreadable).
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\s*[\d.]+\s*$/.test(header)) {
    const s = Number(header);
    return Number.isFinite(s) ? s * 1000 : undefined;
  }
  // An HTTP date names its weekday and month; anything else (a negative number) is unreadable.
  const at = /[a-z]/i.test(header) ? Date.parse(header) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
