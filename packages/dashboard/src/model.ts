import {
  TASK_STATES,
  type DashboardBar,
  type DashboardGraphRow,
  type DashboardGroup,
  type DashboardTask,
  type DashboardWorkerRow,
  type EngineEvent,
  type GraphEvent,
  type GraphStatus,
  type GraphStructure,
  type TaskEvent,
  type TaskState,
  type WorkerView,
} from '@tessera/protocol';

/**
 * What the dashboard server knows of the cluster, built from the scheduler's graph list, worker
 * list, graph structures and event feed. All aggregation happens here, once, whatever the number
 * of browsers: they get one shared message per tick (see app.ts).
 */

export type Counts = Record<TaskState, number>;

/** The page's shapes (protocol's dashboard-stream.ts), by the names this model uses. */
export type GroupView = DashboardGroup & { counts: Counts };
/** A task as the dashboard last saw it. */
export type TaskRecord = DashboardTask;
export type Bar = DashboardBar;
export type GraphRow = DashboardGraphRow;
export type WorkerRow = DashboardWorkerRow;

/** Ordering of states, so a stale event (read before a structure, replayed after) never moves a task back. */
const RANK: Record<TaskState, number> = { waiting: 0, queued: 1, processing: 2, memory: 3, erred: 3, released: 4 };
const ERRORS_KEPT = 200;
const BAR_RING = 4_000;
/** Graphs whose every task is remembered (for task detail and the DAG): the newest ones. */
const GRAPHS_WITH_TASKS = 20;
const MAX_PENDING = 500_000;
const DEAD_WORKERS_KEPT = 100;
const SERIES_POINTS = 300;
/** Graphs followed in full (groups, errors); older ones keep only their row. */
const MAX_GRAPHS = 200;

export function zeroCounts(): Counts {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Counts;
}

export class GraphModel {
  status: GraphRow;
  groups = new Map<string, GroupView>();
  tasks: Map<string, TaskRecord> | undefined = new Map();
  /** Task keys in structure order and their deps (graphs small enough to draw). */
  dag: { keys: string[]; deps: number[][] } | undefined;
  structure: 'none' | 'loading' | 'loaded' | 'failed' = 'none';
  /** Task events that came while the structure was being read: applied after it. */
  pending: TaskEvent[] = [];
  errors: TaskRecord[] = [];
  /** Changed since the last tick. */
  dirty = true;
  seenAt = Date.now();

  constructor(status: GraphRow) {
    this.status = status;
  }

  /** Progress from the groups when known (live between list polls), else the last status. */
  progress(): { total: number; done: number; counts: Counts } {
    if (this.groups.size === 0)
      return { total: this.status.total, done: this.status.done, counts: { ...zeroCounts(), ...this.status.counts } };
    const counts = zeroCounts();
    let total = 0;
    for (const g of this.groups.values()) {
      total += g.total;
      for (const s of TASK_STATES) counts[s] += g.counts[s];
    }
    total = Math.max(total, this.status.total);
    const done = Math.max(this.status.done, counts.memory + counts.released);
    return { total, done, counts };
  }

  applyStructure(s: GraphStructure): void {
    this.groups.clear();
    for (const g of s.groups)
      this.groups.set(g.group, { group: g.group, op: g.op, total: g.total, counts: { ...zeroCounts(), ...g.counts }, deps: g.deps });
    if (s.tasks) {
      this.dag = { keys: s.tasks.map((t) => t.key), deps: s.tasks.map((t) => t.deps) };
      if (this.tasks) {
        for (const t of s.tasks) {
          const known = this.tasks.get(t.key);
          if (known) known.state = RANK[t.state] >= RANK[known.state] ? t.state : known.state;
          else this.tasks.set(t.key, { key: t.key, group: groupOf(t.key), op: opOf(t.key), state: t.state });
        }
      }
    }
    this.structure = 'loaded';
    this.dirty = true;
  }

  /** Apply one task event; returns the bar it makes for the task stream, if any. */
  applyTask(e: TaskEvent): Bar | undefined {
    this.dirty = true;
    let g = this.groups.get(e.group);
    if (!g) this.groups.set(e.group, (g = { group: e.group, op: e.op, total: 0, counts: zeroCounts(), deps: [] }));
    const rec = this.tasks?.get(e.key);
    const prev: TaskState | undefined = rec?.state;
    // Without a structure, a group's total is the tasks seen so far.
    if (prev === undefined && this.tasks && this.structure !== 'loaded') g.total++;
    const moved = prev === undefined || (prev !== e.state && (RANK[e.state] >= RANK[prev] || e.state === 'waiting'));
    if (moved) {
      // A task first seen now (a large graph's tasks are not listed in its structure) comes from
      // the state before this one.
      const from = prev ?? previousStateGuess(e.state);
      if (from !== undefined) g.counts[from] = Math.max(0, g.counts[from] - 1);
      g.counts[e.state]++;
    }
    if (this.tasks) {
      const r: TaskRecord = rec ?? { key: e.key, group: e.group, op: e.op, state: e.state };
      if (moved) r.state = e.state;
      // Timing and place come from the run that finished (memory, erred); a 'processing' event
      // that arrives after it (same report batch) changes nothing.
      if (e.stop !== undefined) {
        r.start = e.start;
        r.stop = e.stop;
      } else if (e.start !== undefined && r.stop === undefined) r.start = e.start;
      if (e.worker !== undefined && (moved || r.worker === undefined)) r.worker = e.worker;
      if (e.thread !== undefined && (moved || r.thread === undefined)) r.thread = e.thread;
      if (e.nbytes !== undefined) r.nbytes = e.nbytes;
      if (e.error !== undefined) r.error = e.error;
      if (e.transfer !== undefined) r.transfer = e.transfer;
      if (!rec) this.tasks.set(e.key, r);
    }
    if (e.state === 'erred') {
      this.errors.push({
        key: e.key,
        group: e.group,
        op: e.op,
        state: 'erred',
        worker: e.worker,
        thread: e.thread,
        start: e.start,
        stop: e.stop,
        error: e.error,
        ...(e.transfer ? { transfer: e.transfer } : {}),
      });
      if (this.errors.length > ERRORS_KEPT) this.errors.shift();
    }
    if ((e.state === 'memory' || e.state === 'erred') && e.worker !== undefined && e.start !== undefined && e.stop !== undefined) {
      const flag = e.state === 'erred' ? 'e' : 'm';
      const t = e.transfer;
      if (t) return [e.graph, e.key, e.worker, e.thread ?? 0, e.start, e.stop, flag, t.start, t.stop, t.nbytes, t.from.join(',')];
      return [e.graph, e.key, e.worker, e.thread ?? 0, e.start, e.stop, flag];
    }
    return undefined;
  }

  applyGraph(e: GraphEvent): void {
    this.dirty = true;
    const s = this.status;
    s.state = e.state;
    s.total = Math.max(s.total, e.total);
    s.done = Math.max(s.done, e.done);
    if (e.error) s.error = e.error;
    if (e.state !== 'running' && s.finishedAt === undefined) s.finishedAt = Date.now();
  }

  /** Forget every task (an old graph): groups, errors and status stay. */
  dropTasks(): void {
    this.tasks = undefined;
    this.pending = [];
  }

  /** The groups as the browser gets them (deps included: the group view draws them). */
  groupViews(): GroupView[] {
    return [...this.groups.values()];
  }

  row(): GraphRow {
    const p = this.progress();
    return { ...this.status, total: p.total, done: p.done, counts: p.counts };
  }
}

/** Where a task was before `state`, for graphs whose tasks are not remembered one by one. */
function previousStateGuess(state: TaskState): TaskState | undefined {
  switch (state) {
    case 'queued':
      return 'waiting';
    case 'processing':
      return 'queued';
    case 'memory':
    case 'erred':
      return 'processing';
    case 'released':
      return 'memory';
    default:
      return undefined;
  }
}

function groupOf(key: string): string {
  const i = key.lastIndexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

function opOf(key: string): string {
  const g = groupOf(key);
  const i = g.lastIndexOf('-');
  return i < 0 ? g : g.slice(0, i);
}

export class ClusterModel {
  readonly graphs = new Map<string, GraphModel>();
  readonly workers = new Map<string, WorkerRow>();
  /** Archived rows from the scheduler's history (graphs whose keys are gone). */
  readonly history = new Map<string, GraphRow>();
  /** Bumped when the set or order of graphs changes (the browser then gets the whole list). */
  listVersion = 0;
  workersVersion = 0;
  /** The last bars, for a browser that connects late. */
  readonly recentBars: Bar[] = [];
  /** Bars since the last tick. */
  newBars: Bar[] = [];
  newErrorBars = 0;
  /** Tasks finished per second: [unix seconds, count]. */
  readonly series: [number, number][] = [];
  private finishedThisSecond = 0;
  private second = Math.floor(Date.now() / 1000);
  totalFinished = 0;

  constructor(
    private readonly wantStructure: (g: GraphModel) => void,
    private readonly dagMaxTasks: number,
  ) {}

  graph(id: string, status?: GraphStatus): GraphModel {
    let g = this.graphs.get(id);
    if (!g) {
      const now = Date.now();
      g = new GraphModel(
        status ? { ...status } : { id, state: 'running', total: 0, done: 0, counts: {}, outputs: 0, persist: false, submittedAt: now },
      );
      this.graphs.set(id, g);
      this.history.delete(id);
      this.listVersion++;
      this.trimTasks();
      if (g.status.state === 'running') this.wantStructure(g);
    }
    return g;
  }

  applyBatch(events: readonly EngineEvent[]): void {
    for (const e of events) {
      if (e.type === 'graph') {
        const g = this.graph(e.graph);
        const before = g.status.state;
        g.applyGraph(e);
        if (before !== g.status.state) this.listVersion++;
        continue;
      }
      const g = this.graph(e.graph);
      if (g.structure === 'loading') {
        if (g.pending.length < MAX_PENDING) g.pending.push(e);
        continue;
      }
      this.applyTask(g, e);
    }
  }

  private applyTask(g: GraphModel, e: TaskEvent): void {
    const bar = g.applyTask(e);
    if (e.state === 'memory' || e.state === 'erred') this.countFinished(1);
    if (bar) {
      this.newBars.push(bar);
      if (bar[6] === 'e') this.newErrorBars++;
      this.recentBars.push(bar);
      if (this.recentBars.length > BAR_RING * 1.25) this.recentBars.splice(0, this.recentBars.length - BAR_RING);
    }
  }

  /** The structure arrived: groups and tasks from it, then the events that came meanwhile. */
  structureLoaded(g: GraphModel, s: GraphStructure): void {
    if (s.total > this.dagMaxTasks) s.tasks = undefined;
    g.applyStructure(s);
    const pending = g.pending;
    g.pending = [];
    for (const e of pending) this.applyTask(g, e);
  }

  structureFailed(g: GraphModel): void {
    g.structure = 'failed';
    const pending = g.pending;
    g.pending = [];
    for (const e of pending) this.applyTask(g, e);
  }

  /** A status from the scheduler (list poll): authoritative for state, totals, times and error. */
  applyStatus(s: GraphStatus): void {
    const known = this.graphs.has(s.id);
    const g = this.graph(s.id, s);
    if (!known) return;
    const before = g.status.state;
    const fin = g.status.finishedAt;
    g.status = { ...s, done: Math.max(s.done, s.state === 'running' ? g.status.done : 0) };
    if (s.finishedAt === undefined && fin !== undefined && s.state !== 'running') g.status.finishedAt = fin;
    if (before !== s.state) this.listVersion++;
    g.dirty = true;
  }

  /**
   * The scheduler's list no longer has these graphs (released by their client, or expired): they
   * stay, marked archived, with what the dashboard saw of them (tasks for the newest ones).
   */
  graphsGone(present: ReadonlySet<string>): void {
    for (const g of this.graphs.values()) {
      if (present.has(g.status.id) || g.status.archived || g.status.state === 'running') continue;
      if (Date.now() - g.seenAt < 5_000) continue;
      g.status.archived = true;
      g.dirty = true;
    }
    // Bounded: the oldest ended graphs fall back to plain history rows.
    if (this.graphs.size > MAX_GRAPHS) {
      const old = [...this.graphs.values()]
        .filter((g) => g.status.state !== 'running')
        .sort((a, b) => a.status.submittedAt - b.status.submittedAt)
        .slice(0, this.graphs.size - MAX_GRAPHS);
      for (const g of old) {
        this.graphs.delete(g.status.id);
        this.history.set(g.status.id, { ...g.row(), archived: true });
      }
      this.listVersion++;
    }
  }

  applyHistory(rows: readonly GraphStatus[]): void {
    let changed = false;
    for (const r of rows) {
      if (this.graphs.has(r.id) || this.history.has(r.id)) continue;
      this.history.set(r.id, { ...r, archived: true });
      changed = true;
    }
    if (changed) this.listVersion++;
  }

  applyWorkers(views: readonly WorkerView[]): void {
    const now = Date.now();
    const present = new Set<string>();
    for (const v of views) {
      present.add(v.info.id);
      this.workers.set(v.info.id, { view: v, alive: v.alive });
    }
    for (const [id, w] of this.workers) {
      if (present.has(id) || !w.alive) continue;
      w.alive = false;
      w.diedAt = now;
      w.view = { ...w.view, alive: false };
    }
    const dead = [...this.workers.values()].filter((w) => !w.alive).sort((a, b) => (a.diedAt ?? 0) - (b.diedAt ?? 0));
    for (const w of dead.slice(0, Math.max(0, dead.length - DEAD_WORKERS_KEPT))) this.workers.delete(w.view.info.id);
    this.workersVersion++;
  }

  /** Rows of the graphs table: live graphs then history, newest first, at most `limit`. */
  graphRows(limit = 500): GraphRow[] {
    const rows = [...[...this.graphs.values()].map((g) => g.row()), ...this.history.values()];
    rows.sort((a, b) => b.submittedAt - a.submittedAt);
    return rows.slice(0, limit);
  }

  workerRows(): WorkerRow[] {
    return [...this.workers.values()].sort((a, b) => Number(b.alive) - Number(a.alive) || a.view.info.id.localeCompare(b.view.info.id));
  }

  countFinished(n: number): void {
    this.rollSeries();
    this.finishedThisSecond += n;
    this.totalFinished += n;
  }

  /** Close the seconds that have passed into the throughput series. */
  rollSeries(now = Date.now()): void {
    const sec = Math.floor(now / 1000);
    while (this.second < sec) {
      this.series.push([this.second, this.finishedThisSecond]);
      this.finishedThisSecond = 0;
      this.second++;
      // After a long quiet spell, jump rather than push thousands of zeros.
      if (sec - this.second > SERIES_POINTS) this.second = sec - SERIES_POINTS;
    }
    if (this.series.length > SERIES_POINTS) this.series.splice(0, this.series.length - SERIES_POINTS);
  }

  /** Take the bars since the last tick, at most `max` (errors first, then an even sample). */
  takeBars(max: number): Bar[] {
    const bars = this.newBars;
    this.newBars = [];
    this.newErrorBars = 0;
    if (bars.length <= max) return bars;
    const errors = bars.filter((b) => b[6] === 'e').slice(0, max);
    const room = max - errors.length;
    const ok = bars.filter((b) => b[6] !== 'e');
    const step = ok.length / Math.max(1, room);
    const sample: Bar[] = [];
    for (let i = 0; i < room && Math.floor(i * step) < ok.length; i++) sample.push(ok[Math.floor(i * step)]!);
    return [...errors, ...sample];
  }

  /** Keep per-task memory only for the newest graphs. */
  private trimTasks(): void {
    const withTasks = [...this.graphs.values()]
      .filter((g) => g.tasks)
      .sort((a, b) => b.status.submittedAt - a.status.submittedAt || b.seenAt - a.seenAt);
    for (const g of withTasks.slice(GRAPHS_WITH_TASKS)) if (g.status.state !== 'running') g.dropTasks();
  }
}
