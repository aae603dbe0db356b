import type { Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisGate } from '@tessera/protocol';
import { sleep } from './log.js';

/** How often the drain looks at Redis and the running count. */
const POLL_MS = 50;
/** With no job in flight, BullMQ's close needs Redis only for its own connections: this long. */
const IDLE_CLOSE_MS = 500;
/** Then a PING tells a slow close from a Redis that does not answer. */
const PING_MS = 300;

export interface BullClose {
  /** Tasks still running when the wait ended: abandoned. */
  abandoned: number;
  /** BullMQ's close, still under way while Redis answers: it settles once the abandoned jobs do. */
  pending?: Promise<unknown>;
}

export interface BullCloseOptions {
  timeoutMs: number;
  gate: RedisGate;
  ping: () => Promise<unknown>;
  /** Kernels executing (or waiting for a thread). */
  running: () => number;
  /** Jobs in the processor: gathering inputs, running, or writing their reports. */
  busy: () => number;
  log: Logger;
}

/**
 * Stop taking jobs (both queues at once), let running ones finish (they report), but not past
 * `timeoutMs`: what is still running then is abandoned (the scheduler runs it elsewhere). Without
 * Redis the wait ends as soon as no kernel runs: a finished task's report, and BullMQ's close,
 * would wait for Redis forever; its connections are then dropped, not quit (quit waits too).
 */
export async function closeBullWorkers(workers: BullWorker[], o: BullCloseOptions): Promise<BullClose> {
  const closing = Promise.all(workers.map((w) => w.close()));
  closing.catch(() => undefined);
  const closed = closing.then(
    () => true,
    () => true,
  );
  const end = Date.now() + o.timeoutMs;
  let idleSince: number | undefined;
  for (let now = Date.now(); now < end; now = Date.now()) {
    if (!o.gate.up && o.running() === 0) break;
    if (o.busy() > 0) idleSince = undefined;
    else if (now - (idleSince ??= now) >= IDLE_CLOSE_MS) {
      if (!(await o.gate.wait(o.ping(), PING_MS))) break;
      return { abandoned: 0, pending: closing };
    }
    if (await Promise.race([closed, sleep(Math.min(POLL_MS, end - now)).then(() => false)])) return { abandoned: 0 };
  }
  const abandoned = o.running();
  if (!o.gate.up) {
    // Not awaited: a connection that is reconnecting never reports its end (ioredis).
    for (const w of workers) w.disconnect().catch(() => undefined);
    return { abandoned };
  }
  // BullMQ's close(true) would only wait on the same promise: leave it; the jobs end with the pool.
  o.log.warn({ running: abandoned, timeoutMs: o.timeoutMs }, 'tasks still running at the shutdown timeout are abandoned');
  return { abandoned, pending: closing };
}

/** Stream ids compare as (ms, seq). */
function idAtLeast(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as >= bs);
}

/** Wait (at most `timeoutMs`) until a consumer group of the report stream has read its last entry. */
export async function reportsRead(redis: Redis, stream: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  try {
    const info = (await redis.call('XINFO', 'STREAM', stream)) as unknown[];
    const last = String(info[info.indexOf('last-generated-id') + 1]);
    while (Date.now() < end) {
      const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
      if (groups.length === 0) return;
      const read = groups.some((g) => idAtLeast(String(g[g.indexOf('last-delivered-id') + 1]), last));
      if (read) return;
      await sleep(20);
    }
  } catch {
    // No stream yet, or Redis is gone: nothing to wait for.
  }
}
