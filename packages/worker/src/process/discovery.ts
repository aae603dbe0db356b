import { ClusterInfo, UnavailableError, authHeaders } from '@tessera/protocol';
import { errorMessage, sleep } from './log.js';

const RETRY_MS = 250;

/**
 * GET `${scheduler}/api/cluster`, retried every 250 ms until the scheduler answers with a valid
 * ClusterInfo (workers are often started before, or with, their scheduler).
 */
export async function discoverCluster(scheduler: string, timeoutMs: number, token?: string): Promise<ClusterInfo> {
  const url = `${scheduler}/api/cluster`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(url, {
        headers: authHeaders(token),
        signal: AbortSignal.timeout(Math.max(RETRY_MS, Math.min(5_000, deadline - Date.now()))),
      });
      // A wrong or missing token will not fix itself: say so now.
      if (res.status === 401) {
        await res.body?.cancel();
        throw new UnavailableError(
          `the scheduler at ${url} refused this worker's token (401): start the worker with the cluster's --token / TESSERA_TOKEN`,
        );
      }
      if (res.ok) {
        const parsed = ClusterInfo.safeParse(await res.json());
        if (parsed.success) return parsed.data;
        const i = parsed.error.issues[0]!;
        last = `answered with an invalid ClusterInfo (${i.path.join('.') || '(body)'}: ${i.message})`;
      } else {
        last = `answered HTTP ${res.status}`;
        await res.body?.cancel();
      }
    } catch (e) {
      if (e instanceof UnavailableError) throw e;
      last = errorMessage(e);
    }
    if (Date.now() + RETRY_MS > deadline) {
      throw new UnavailableError(`the scheduler at ${url} did not answer within ${Math.round(timeoutMs / 1000)} s (last: ${last})`);
    }
    await sleep(RETRY_MS);
  }
}
