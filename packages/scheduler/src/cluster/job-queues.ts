import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BundleJob, SHARED_QUEUE, TaskJob, type ChainedTask, bundleJobIdOf, jobIdOf, redisErrorReason, workerQueueName } from '@tessera/protocol';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** The id Dispatcher uses for the shared queue (kept here too: job-queues must not import dispatcher). */
const SHARED_ID = '*';
/** Retry a failed add (Redis restarting) after this long, forever: a task must not be lost. */
const RETRY_MS = 500;

/** What one BullMQ job carries: one task, or a bundle of tiny ones. */
export type QueuedJob = TaskJob | BundleJob;

/** The id of a job: its task's key and attempt, or its bundle's (bundleJobIdOf). */
export function queuedJobId(job: QueuedJob): string {
  return 'tasks' in job ? bundleJobIdOf(job.tasks[0]!) : jobIdOf(job.key, job.attempt);
}

/** The tasks a job's data names, chained ones too (none when it is not a job of ours); `chain` when they are one. */
function tasksOf(data: unknown): { tasks: (TaskJob | ChainedTask)[]; chain: boolean } {
  const one = TaskJob.safeParse(data);
  if (one.success) return { tasks: [one.data, ...(one.data.next ?? [])], chain: one.data.next !== undefined };
  const bundle = BundleJob.safeParse(data);
  return { tasks: bundle.success ? bundle.data.tasks : [], chain: false };
}

/** Which job carries a run, and the chain of that job when it carries one (head first). */
export interface Carrier {
  job: string;
  chain?: string[];
}

/**
 * The BullMQ side of dispatch: one queue per worker plus the shared queue. A job's id is its task
 * key (and attempt), so adding a job twice is a no-op; finished jobs are removed, so a later run
 * of the same key (a recompute) is a new job.
 */
export class JobQueues {
  private readonly queues = new Map<string, Queue>();
  private closed = false;
  private unsent_ = 0;

  constructor(
    private readonly redis: Redis,
    private readonly bullPrefix: string,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {}

  add(worker: string, jobs: QueuedJob[]): void {
    if (jobs.length === 0 || this.closed) return;
    this.unsent_ += jobs.length;
    this.send(worker, jobs);
  }

  /** Jobs handed to add() that are not in Redis yet (being retried while Redis is down). */
  get unsent(): number {
    return this.unsent_;
  }

  private send(worker: string, jobs: QueuedJob[]): void {
    if (this.closed) return;
    const q = this.queue(worker);
    const bulk = jobs.map((data) => ({
      name: 'tasks' in data ? 'bundle' : 'task',
      data,
      opts: { jobId: queuedJobId(data), removeOnComplete: true, removeOnFail: true },
    }));
    q.addBulk(bulk).then(
      () => void (this.unsent_ -= jobs.length),
      (e: unknown) => {
        if (this.closed) return;
        // Its worker died meanwhile (the queue was dropped): recovery re-sends these elsewhere, and
        // a retry would bring back the dead worker's queue keys for good.
        if (this.queues.get(worker) !== q) {
          this.unsent_ -= jobs.length;
          return;
        }
        this.log.warn({ err: e, queue: q.name, jobs: jobs.length }, 'adding jobs failed; retrying');
        setTimeout(() => this.send(worker, jobs), RETRY_MS);
      },
    );
  }

  /** Take back a job that no graph waits for; false when it is already running (or gone). */
  async remove(worker: string, jobId: string): Promise<boolean> {
    try {
      return (await this.queue(worker).remove(jobId)) === 1;
    } catch {
      return false;
    }
  }

  /** Whether a job still exists (any state); false when BullMQ has no such job. */
  async exists(worker: string, jobId: string): Promise<boolean> {
    return (await this.queue(worker).getJobState(jobId)) !== 'unknown';
  }

  /**
   * Task keys a dead worker had taken: active jobs on its own queue, and active jobs of the
   * shared queue it was processing (BullMQ records the worker's name as processedBy).
   */
  async takenBy(worker: string): Promise<{ own: Set<string>; shared: Set<string> }> {
    const keysOf = (jobs: { data: unknown; processedBy?: string | undefined }[], mine: boolean): Set<string> => {
      const out = new Set<string>();
      for (const j of jobs) {
        if (!mine && j.processedBy !== worker) continue;
        for (const t of tasksOf(j.data).tasks) out.add(t.key);
      }
      return out;
    };
    const [own, shared] = await Promise.all([this.queue(worker).getActive(), this.queue(SHARED_ID).getActive()]);
    return { own: keysOf(own, true), shared: keysOf(shared, false) };
  }

  /**
   * The job that carries each run still in a queue (waiting or running), by jobIdOf(key, attempt):
   * a resumed scheduler must not send again what a bundle or a chain already holds.
   */
  async carriers(worker: string): Promise<Map<string, Carrier>> {
    const jobs = await this.queue(worker).getJobs(['active', 'waiting', 'prioritized', 'delayed', 'waiting-children']);
    const out = new Map<string, Carrier>();
    for (const j of jobs) {
      if (j?.id === undefined) continue;
      const { tasks, chain } = tasksOf(j.data);
      const carrier: Carrier = { job: j.id };
      if (chain) carrier.chain = tasks.map((t) => t.key);
      for (const t of tasks) out.set(jobIdOf(t.key, t.attempt), carrier);
    }
    return out;
  }

  /** A dead worker's queue goes, jobs and all (what it held is re-dispatched elsewhere). Whether it went. */
  async drop(worker: string): Promise<boolean> {
    const q = this.queue(worker);
    this.queues.delete(worker);
    const ok = await q.obliterate({ force: true }).then(
      () => true,
      (e: unknown) => {
        this.log.warn({ err: e, queue: q.name }, 'removing the queue failed (the dead-worker sweep tries again)');
        return false;
      },
    );
    await q.close();
    return ok;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }

  private queue(worker: string): Queue {
    let q = this.queues.get(worker);
    if (!q) {
      const name = worker === SHARED_ID ? SHARED_QUEUE : workerQueueName(worker);
      // BullMQ's own event stream is not read by anyone here: keep it short.
      q = new Queue(name, { connection: this.redis, prefix: this.bullPrefix, streams: { events: { maxLen: 100 } } });
      q.on('error', (e) => this.log.error({ reason: redisErrorReason(e), queue: name }, 'queue error'));
      this.queues.set(worker, q);
    }
    return q;
  }
}
