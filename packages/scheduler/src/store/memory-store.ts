import type { Graph, GraphStructure, GroupShape, SerializedError, TaskSpec, TaskState } from '@tessera/protocol';
import { InvalidArgumentError, NotFoundError, TASK_STATES, keyGroup, keyOp } from '@tessera/protocol';
import type { Completion, CompletionResult, GraphRecord, RecoveryResult, ResumeState, Store } from './store.js';

interface TaskRecord {
  spec: TaskSpec;
  state: TaskState;
  /** Dependencies not yet in memory. */
  pending: number;
  /** Dependents not yet in memory, plus one while the task is an output. */
  waiters: number;
  dependents: string[];
  /** Unique dependencies (a key may appear twice in spec.deps). */
  uniqueDeps: string[];
  worker?: string;
}

interface GraphEntry {
  record: GraphRecord;
  tasks: Map<string, TaskRecord>;
}

/** The store of the embedded local engine: plain maps, every transition synchronous. */
export class MemoryStore implements Store {
  private readonly graphs = new Map<string, GraphEntry>();

  async createGraph(id: string, graph: Graph, options: { persist: boolean; now: number }): Promise<{ ready: string[] }> {
    if (this.graphs.has(id)) throw new InvalidArgumentError(`graph ${id} already exists`);
    const tasks = new Map<string, TaskRecord>();
    for (const spec of graph.tasks) {
      const uniqueDeps = [...new Set(spec.deps)];
      tasks.set(spec.key, { spec, state: 'waiting', pending: uniqueDeps.length, waiters: 0, dependents: [], uniqueDeps });
    }
    for (const t of tasks.values()) {
      for (const d of t.uniqueDeps) {
        const dep = tasks.get(d)!;
        dep.dependents.push(t.spec.key);
        dep.waiters++;
      }
    }
    for (const o of new Set(graph.outputs)) tasks.get(o)!.waiters++;
    const ready: string[] = [];
    for (const t of tasks.values()) if (t.pending === 0) ready.push(t.spec.key);
    this.graphs.set(id, {
      record: {
        id,
        state: 'running',
        total: tasks.size,
        done: 0,
        outputs: [...graph.outputs],
        persist: options.persist,
        submittedAt: options.now,
      },
      tasks,
    });
    return { ready };
  }

  async getGraph(id: string): Promise<GraphRecord | undefined> {
    const g = this.graphs.get(id);
    return g ? { ...g.record } : undefined;
  }

  async listGraphs(): Promise<GraphRecord[]> {
    return [...this.graphs.values()].map((g) => ({ ...g.record }));
  }

  async getTasks(id: string, keys: readonly string[]): Promise<TaskSpec[]> {
    const g = this.need(id);
    return keys.map((k) => {
      const t = g.tasks.get(k);
      if (!t) throw new NotFoundError(`graph ${id} has no task ${k}`);
      return t.spec;
    });
  }

  async getTaskState(id: string, key: string): Promise<{ state: TaskState; worker?: string } | undefined> {
    const t = this.graphs.get(id)?.tasks.get(key);
    if (!t) return undefined;
    return t.worker === undefined ? { state: t.state } : { state: t.state, worker: t.worker };
  }

  async stateCounts(id: string): Promise<Record<TaskState, number>> {
    const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
    for (const t of this.need(id).tasks.values()) counts[t.state]++;
    return counts;
  }

  async markQueued(id: string, keys: readonly string[], worker: string): Promise<void> {
    this.move(id, keys, 'waiting', 'queued', worker);
  }

  async markProcessing(id: string, keys: readonly string[], worker: string): Promise<void> {
    this.move(id, keys, 'queued', 'processing', worker);
  }

  async completeTasks(id: string, completions: readonly Completion[], now: number): Promise<CompletionResult> {
    const g = this.graphs.get(id);
    const r: CompletionResult = { applied: [], ready: [], readySpecs: [], releasable: [], freed: [], finished: false };
    if (!g || g.record.state !== 'running') return r;
    for (const { key, worker } of completions) {
      const t = g.tasks.get(key);
      if (!t || (t.state !== 'queued' && t.state !== 'processing' && t.state !== 'waiting') || t.pending !== 0) continue;
      r.applied.push(key);
      t.state = 'memory';
      t.worker = worker;
      g.record.done++;
      for (const k of t.dependents) {
        const d = g.tasks.get(k)!;
        if (--d.pending === 0 && d.state === 'waiting') {
          r.ready.push(k);
          r.readySpecs.push(d.spec);
        }
      }
      const before = r.releasable.length;
      for (const k of t.uniqueDeps) {
        const d = g.tasks.get(k)!;
        if (--d.waiters === 0 && d.state === 'memory') {
          d.state = 'released';
          r.releasable.push(k);
        }
      }
      r.freed.push(r.releasable.length - before);
    }
    if (r.applied.length > 0 && g.record.done === g.record.total) {
      r.finished = true;
      g.record.state = 'finished';
      g.record.finishedAt = now;
    }
    return r;
  }

  /** Same algorithm as the recoverTasks Lua script (see there), on plain objects. */
  async recoverTasks(id: string, lost: readonly string[], dropped: readonly string[]): Promise<RecoveryResult | undefined> {
    const g = this.graphs.get(id);
    if (!g || g.record.state !== 'running') return undefined;
    const task = (k: string): TaskRecord => g.tasks.get(k)!;
    const lostSet = new Set(lost);
    const reset = new Set<string>();
    const stack = lost.filter((k) => g.tasks.get(k)?.state === 'memory');
    while (stack.length) {
      const k = stack.pop()!;
      if (reset.has(k)) continue;
      reset.add(k);
      for (const d of task(k).uniqueDeps) {
        const s = task(d).state;
        if (!reset.has(d) && (s === 'released' || (s === 'memory' && lostSet.has(d)))) stack.push(d);
      }
    }
    for (const k of reset) {
      const t = task(k);
      t.state = 'waiting';
      delete t.worker;
      g.record.done--;
    }
    const moved: string[] = [];
    const touched: string[] = [];
    const toWaiting = (t: TaskRecord): void => {
      t.state = 'waiting';
      delete t.worker;
      moved.push(t.spec.key);
    };
    for (const k of reset) {
      const t = task(k);
      t.pending = 0;
      for (const d of t.uniqueDeps) {
        const dep = task(d);
        dep.waiters++;
        if (dep.state !== 'memory') t.pending++;
      }
      touched.push(k);
      for (const dk of t.dependents) {
        const d = task(dk);
        if (reset.has(dk) || (d.state !== 'waiting' && d.state !== 'queued' && d.state !== 'processing')) continue;
        d.pending++;
        if (d.state !== 'waiting') toWaiting(d);
      }
    }
    for (const k of dropped) {
      const t = g.tasks.get(k);
      if (!t) continue;
      if (t.state === 'queued' || t.state === 'processing') toWaiting(t);
      touched.push(k);
    }
    const seen = new Set<string>();
    const ready: string[] = [];
    for (const k of [...touched, ...moved]) {
      if (!seen.has(k) && task(k).state === 'waiting' && task(k).pending === 0) ready.push(k);
      seen.add(k);
    }
    return { ready, moved };
  }

  async resumeState(id: string): Promise<ResumeState> {
    const r: ResumeState = { memory: [], active: [], ready: [] };
    for (const t of this.need(id).tasks.values()) {
      const key = t.spec.key;
      if (t.state === 'memory') r.memory.push({ key, worker: t.worker ?? '' });
      else if (t.state === 'queued' || t.state === 'processing') r.active.push({ key, state: t.state, worker: t.worker ?? '' });
      else if (t.state === 'waiting' && t.pending === 0) r.ready.push(key);
    }
    return r;
  }

  async failTask(id: string, key: string | undefined, error: SerializedError, now: number): Promise<boolean> {
    const g = this.graphs.get(id);
    const t = key === undefined ? undefined : g?.tasks.get(key);
    if (!g || (key !== undefined && !t) || g.record.state !== 'running') return false;
    if (t) t.state = 'erred';
    g.record.state = 'erred';
    g.record.error = error;
    g.record.finishedAt = now;
    return true;
  }

  async cancelGraph(id: string, now: number): Promise<boolean> {
    const g = this.graphs.get(id);
    if (!g || g.record.state !== 'running') return false;
    g.record.state = 'cancelled';
    g.record.finishedAt = now;
    return true;
  }

  /** A graph's shape for a dashboard: its task groups, and every task when there are at most `maxTasks`. */
  async structure(id: string, maxTasks: number): Promise<GraphStructure> {
    const g = this.graphs.get(id);
    if (!g) throw new NotFoundError(`unknown graph ${id} (never submitted, or already released)`);
    const groups = new Map<string, GroupShape & { depSet: Set<string> }>();
    for (const t of g.tasks.values()) {
      const name = keyGroup(t.spec.key);
      let s = groups.get(name);
      if (!s) {
        const counts = Object.fromEntries(TASK_STATES.map((st) => [st, 0])) as Record<TaskState, number>;
        groups.set(name, (s = { group: name, op: keyOp(t.spec.key), total: 0, counts, deps: [], depSet: new Set() }));
      }
      s.total++;
      s.counts[t.state] = (s.counts[t.state] ?? 0) + 1;
      for (const d of t.uniqueDeps) s.depSet.add(keyGroup(d));
    }
    const out: GraphStructure = {
      id,
      total: g.tasks.size,
      groups: [...groups.values()].map(({ depSet, ...s }) => ({ ...s, deps: [...depSet].filter((d) => d !== s.group) })),
    };
    if (g.tasks.size <= maxTasks) {
      const index = new Map([...g.tasks.keys()].map((k, i) => [k, i]));
      out.tasks = [...g.tasks.values()].map((t) => ({ key: t.spec.key, state: t.state, deps: t.uniqueDeps.map((d) => index.get(d)!) }));
    }
    return out;
  }

  async deleteGraph(id: string): Promise<void> {
    this.graphs.delete(id);
  }

  private need(id: string): GraphEntry {
    const g = this.graphs.get(id);
    if (!g) throw new NotFoundError(`no graph ${id}`);
    return g;
  }

  private move(id: string, keys: readonly string[], from: TaskState, to: TaskState, worker: string): void {
    const g = this.need(id);
    for (const k of keys) {
      const t = g.tasks.get(k);
      if (t && (t.state === from || (to === 'processing' && t.state === 'waiting' && t.pending === 0))) {
        t.state = to;
        t.worker = worker;
      }
    }
  }
}
