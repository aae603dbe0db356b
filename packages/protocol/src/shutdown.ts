/**
 * How a scheduler or worker process ends on SIGTERM/SIGINT: its exit status, which Docker,
 * Kubernetes and systemd show the operator.
 *
 *   0   clean: everything the cluster needs is in Redis. For a worker: its reports are written and
 *       its leave recorded. Tasks still running at the end of its grace period are abandoned, and
 *       the scheduler reruns them elsewhere without counting a strike.
 *   1   the start failed, or the shutdown failed or ran past its hard deadline.
 *   75  incomplete (sysexits' EX_TEMPFAIL): Redis was unreachable or did not answer in time, so
 *       something was not written. The process's one "shutdown incomplete" log line names it.
 *       A worker that could not record its leave is taken for dead after the scheduler's worker
 *       timeout; the next scheduler resumes from what Redis holds.
 */
export const EXIT_CODES = { clean: 0, failed: 1, incomplete: 75 } as const;

/** What a shutdown could not do, each a short phrase ("2 reports not written"); empty when clean. */
export interface ShutdownOutcome {
  undone: string[];
}

/** The exit status of a process whose shutdown ended with `outcome`. */
export function exitCodeOf(outcome: ShutdownOutcome | void): number {
  return outcome && outcome.undone.length > 0 ? EXIT_CODES.incomplete : EXIT_CODES.clean;
}

/** What shutdown needs of a Redis connection: ioredis's Redis has it (protocol imports no client). */
export interface RedisLink {
  readonly status: string;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/**
 * Wait for `work` (something that needs Redis) at most `ms`, and not at all while `redis` is
 * not connected, nor past the moment it drops: ioredis with maxRetriesPerRequest: null queues
 * commands until Redis is back and never fails them, so an unbounded wait on one during an
 * outage never ends. True when `work` settled in time (resolved or rejected: its rejection is
 * the caller's to read).
 */
export async function settledWhileUp(work: Promise<unknown>, redis: RedisLink, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  if (redis.status !== 'ready' || ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  let onClose: (() => void) | undefined;
  try {
    return await Promise.race([
      settled,
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
        onClose = () => resolve(false);
        redis.once('close', onClose);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onClose) redis.off('close', onClose);
  }
}

/**
 * A shutdown's waits on one Redis: each bounded (settledWhileUp), and once one has run out, or
 * while the connection is down, the rest do not wait at all: a Redis that is frozen (a network
 * partition, a stopped server) costs one timeout, not one per step.
 */
export class RedisGate {
  private lost = false;

  constructor(private readonly redis: RedisLink) {}

  /** Connected, and no wait has run out. */
  get up(): boolean {
    return !this.lost && this.redis.status === 'ready';
  }

  /** A step found that Redis did not take what it was given in time. */
  markLost(): void {
    this.lost = true;
  }

  /** Whether `work` settled within `ms`; false at once while not up. A wait that runs out marks the gate lost. */
  async wait(work: Promise<unknown>, ms: number): Promise<boolean> {
    const ok = await settledWhileUp(work, this.redis, this.up ? ms : 0);
    if (!ok) this.lost = true;
    return ok;
  }
}

/** Whether `p` settled within `ms` (its outcome is the caller's to read). */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
