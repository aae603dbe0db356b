import type { Redis } from 'ioredis';
import type { SchedulerCore } from '../core/scheduler-core.js';
import { ChunkDirectory } from './chunk-directory.js';
import type { FreeSender } from './free-sender.js';
import type { JobQueues } from './job-queues.js';
import type { ClusterLog } from './log.js';
import { RunTable } from './run-table.js';
import type { TaskJobs } from './task-jobs.js';
import type { WorkerRegistry } from './worker-registry.js';

/**
 * What the scheduler knows of the cluster's work at any moment, in one place: which graphs it
 * follows (in submission order), the runs in flight, which worker holds which chunk, and which
 * graphs wait for a key they have not sent yet. The dispatcher, the run outcomes and the
 * recovery all read and change it; none of them owns it.
 */
export class ClusterState {
  readonly directory = new ChunkDirectory();
  /** Every run in flight; a settled one frees room on its worker (`onRoom`: a dispatch pass may send more). */
  readonly inflight: RunTable;
  /** Graphs with a ready (not yet sent) task per key: a run finishing for another graph is held for them too. */
  readonly waiting = new Map<string, Set<string>>();
  private readonly followed = new Map<string, number>();
  private seq = 0;

  /** @param room called when workers may have room for more (a run settled, a worker left): a dispatch pass runs. */
  constructor(readonly room: () => void) {
    this.inflight = new RunTable(room);
  }

  /** Follow a graph (submitted or resumed); its submission order, kept if it is already followed. */
  follow(graphId: string): number {
    let n = this.followed.get(graphId);
    if (n === undefined) this.followed.set(graphId, (n = this.seq++));
    return n;
  }

  /** The graph's submission order, while it is followed (added, and not cancelled since). */
  orderOf(graphId: string): number | undefined {
    return this.followed.get(graphId);
  }

  follows(graphId: string): boolean {
    return this.followed.has(graphId);
  }

  unfollow(graphId: string): void {
    this.followed.delete(graphId);
  }

  /** A graph's ready task for `key` is waiting for its turn (or no longer is). */
  wait(key: string, graphId: string): void {
    let w = this.waiting.get(key);
    if (!w) this.waiting.set(key, (w = new Set()));
    w.add(graphId);
  }

  unwait(key: string, graphId: string): void {
    const w = this.waiting.get(key);
    w?.delete(graphId);
    if (w?.size === 0) this.waiting.delete(key);
  }
}

/** The services the parts of the flow share: the core, Redis and its queues, the workers, jobs and frees. */
export interface ClusterContext {
  core: SchedulerCore;
  redis: Redis;
  prefix: string;
  queues: JobQueues;
  workers: WorkerRegistry;
  jobs: TaskJobs;
  frees: FreeSender;
  log: ClusterLog;
}
