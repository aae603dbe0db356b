import type { TaskSpec } from '@tessera/protocol';

export interface InFlight {
  spec: TaskSpec;
  /** When its job was (last) sent, and how many sweeps in a row found the job gone. */
  sentAt: number;
  missing: number;
  /** Graphs waiting for this key: graphs that share keys share the run. */
  graphs: Set<string>;
  worker: string;
  attempt: number;
  /** The BullMQ job carrying the run: its own (jobIdOf), or its bundle's or chain's, with their keys. */
  jobId: string;
  bundle?: readonly string[];
  /** A chained run (TaskJob.next): the task before it in its job, whose chunk is its only input. */
  after?: string;
  /** The worker that reported this run started (a death there strikes it; a queued run is innocent). */
  runningOn?: string;
}

/**
 * Every run in flight, by key, with how many runs each worker (or the shared queue) has
 * outstanding, which placement weighs, and the attempt each key's next run gets. Dispatch and
 * recovery both add and settle runs here, so the counts stay in step with the runs.
 */
export class RunTable implements Iterable<[string, InFlight]> {
  private readonly runs = new Map<string, InFlight>();
  private readonly outstanding = new Map<string, number>();
  /** Runs after a loss get a new job id: a stalled copy of the old job must not block them. */
  private readonly attempts = new Map<string, number>();

  /** `settled`: a run left the table, so its worker may have room for another. */
  constructor(private readonly settled: () => void) {}

  [Symbol.iterator](): IterableIterator<[string, InFlight]> {
    return this.runs.entries();
  }

  values(): IterableIterator<InFlight> {
    return this.runs.values();
  }

  /** Runs sent and not settled. */
  get size(): number {
    return this.runs.size;
  }

  get(key: string): InFlight | undefined {
    return this.runs.get(key);
  }

  has(key: string): boolean {
    return this.runs.has(key);
  }

  /** A run was sent (or found sent): it counts against its worker until it is settled. */
  add(key: string, run: InFlight): void {
    this.runs.set(key, run);
    this.outstanding.set(run.worker, (this.outstanding.get(run.worker) ?? 0) + 1);
  }

  settle(key: string, f: InFlight): void {
    this.runs.delete(key);
    const n = (this.outstanding.get(f.worker) ?? 1) - 1;
    if (n > 0) this.outstanding.set(f.worker, n);
    else this.outstanding.delete(f.worker);
    this.settled();
  }

  /** How many runs are outstanding on a worker (or the shared queue). */
  load(worker: string): number {
    return this.outstanding.get(worker) ?? 0;
  }

  /** The attempt the key's next run gets. */
  attempt(key: string): number {
    return this.attempts.get(key) ?? 0;
  }

  /** A run of the key was lost: its next run is this attempt. */
  retry(key: string, attempt: number): void {
    this.attempts.set(key, attempt);
  }

  /** A worker died: nothing is outstanding on it any more. */
  dropWorker(worker: string): void {
    this.outstanding.delete(worker);
  }

  /** The runs still in flight of f's bundle. */
  bundled(f: InFlight): InFlight[] {
    return (f.bundle ?? [f.spec.key]).flatMap((k) => {
      const g = this.runs.get(k);
      return g?.jobId === f.jobId ? [g] : [];
    });
  }

  /** After a recovery: runs of `moved` tasks still in flight are void for `graphId`. */
  forget(graphId: string, moved: readonly string[]): void {
    for (const k of moved) this.runs.get(k)?.graphs.delete(graphId);
  }
}
