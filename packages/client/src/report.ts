import type { Engine, EngineEvent, TaskEvent } from '@tessera/protocol';
import { reportHtml } from './report-html.js';

/** Bars of the task stream kept in a report; past it an even sample of them (the tables count every task). */
const MAX_BARS = 20_000;
/** Memory samples: every this many ms while the graph runs. */
const SAMPLE_MS = 250;

interface Tally {
  tasks: number;
  ms: number;
  bytes: number;
}

/** The data of a performance report (Dask's performance_report), as written to JSON and embedded in the HTML. */
export interface PerformanceReport {
  version: 1;
  graph: { id: string; tasks: number; state: string; start: number; stop: number; error?: string };
  ops: ({ op: string } & Tally)[];
  groups: ({ group: string; op: string } & Tally)[];
  workers: { worker: string; threads: number; tasks: number; busyMs: number }[];
  /** [worker index, thread, start (ms from graph start), duration ms, op index] per bar. */
  stream: { total: number; sampled: boolean; bars: [number, number, number, number, number][] };
  transfers: { tasks: number; bytes: number; ms: number; from: { worker: string; tasks: number; bytes: number }[] };
  /** Chunk memory held (and process RSS where the engine says) over time, per worker. */
  memory: { t: number; worker: string; bytes: number; rss?: number; disk?: number }[];
  /** Spilling to disk per worker while the graph ran (cluster workers; from their heartbeats). */
  spills: { worker: string; writes: number; writeBytes: number; reads: number; readBytes: number; peakDiskBytes: number }[];
  gpu?: { tasks: number; uploads: number; readbacks: number; readbackBytes: number };
  errors: { key: string; op: string; message: string }[];
}

interface LocalStats {
  bytesHeld: number;
  gpu?: { tasks: number; uploads: number; readbacks: number; readbackBytes: number };
}
interface SpillCounters {
  bytes: number;
  writes: number;
  writeBytes: number;
  reads: number;
  readBytes: number;
}
interface HttpWorkers {
  workers(): Promise<{ info: { id: string }; heartbeat?: { bytes: number; rss: number; spill?: SpillCounters } }[]>;
}

const tally = (): Tally => ({ tasks: 0, ms: 0, bytes: 0 });

/**
 * Collects what a performance report shows from a graph's events, and samples the engine's
 * memory while it runs; `write` puts the report in one self-contained HTML file (or JSON, for a
 * path ending in .json).
 */
export class ReportRecorder {
  private readonly t0 = Date.now();
  private readonly ops = new Map<string, Tally>();
  private readonly groups = new Map<string, Tally & { op: string }>();
  private readonly workers = new Map<string, { threads: Set<number>; tasks: number; busyMs: number }>();
  private readonly runs: { worker: string; thread: number; start: number; stop: number; op: string }[] = [];
  private readonly transfers = { tasks: 0, bytes: 0, ms: 0, from: new Map<string, { tasks: number; bytes: number }>() };
  private readonly memory: PerformanceReport['memory'] = [];
  private readonly errors: PerformanceReport['errors'] = [];
  /** Each worker's spill counters at its first and latest sample, and the most it held on disk. */
  private readonly spill = new Map<string, { first: SpillCounters; last: SpillCounters; peak: number }>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly gpuBefore: LocalStats['gpu'];
  private sampling = false;

  constructor(
    private readonly engine: Engine,
    private readonly tasks: number,
  ) {
    this.gpuBefore = this.localStats()?.gpu;
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    (this.timer as { unref?: () => void }).unref?.();
    void this.sample();
  }

  private localStats(): LocalStats | undefined {
    const s = (this.engine as { stats?: () => LocalStats }).stats;
    return typeof s === 'function' ? s.call(this.engine) : undefined;
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const t = Date.now() - this.t0;
      const local = this.localStats();
      if (local) {
        const rss = typeof process !== 'undefined' ? process.memoryUsage.rss() : undefined;
        this.memory.push({ t, worker: 'local', bytes: local.bytesHeld, ...(rss !== undefined ? { rss } : {}) });
        return;
      }
      const http = this.engine as unknown as Partial<HttpWorkers>;
      if (typeof http.workers !== 'function') return;
      for (const w of await http.workers()) {
        const h = w.heartbeat;
        if (!h) continue;
        this.memory.push({ t, worker: w.info.id, bytes: h.bytes, rss: h.rss, ...(h.spill ? { disk: h.spill.bytes } : {}) });
        if (h.spill) {
          const s = this.spill.get(w.info.id);
          if (s) {
            s.last = h.spill;
            s.peak = Math.max(s.peak, h.spill.bytes);
          } else this.spill.set(w.info.id, { first: h.spill, last: h.spill, peak: h.spill.bytes });
        }
      }
    } catch {
      // A sample missed: the report has fewer points.
    } finally {
      this.sampling = false;
    }
  }

  /** Every event of the graph goes through here. */
  readonly onEvent = (ev: EngineEvent): void => {
    if (ev.type !== 'task' || (ev.state !== 'memory' && ev.state !== 'erred')) return;
    if (ev.state === 'erred') this.errors.push({ key: ev.key, op: ev.op, message: ev.error?.message ?? 'failed' });
    if (ev.start === undefined || ev.stop === undefined) return;
    this.record(ev, ev.start, ev.stop);
  };

  private record(ev: TaskEvent, start: number, stop: number): void {
    const ms = Math.max(0, stop - start);
    const bytes = ev.nbytes ?? 0;
    const op = this.ops.get(ev.op) ?? this.ops.set(ev.op, tally()).get(ev.op)!;
    op.tasks++;
    op.ms += ms;
    op.bytes += bytes;
    const g = this.groups.get(ev.group) ?? this.groups.set(ev.group, { ...tally(), op: ev.op }).get(ev.group)!;
    g.tasks++;
    g.ms += ms;
    g.bytes += bytes;
    const worker = ev.worker ?? 'local';
    const w = this.workers.get(worker) ?? this.workers.set(worker, { threads: new Set(), tasks: 0, busyMs: 0 }).get(worker)!;
    w.threads.add(ev.thread ?? 0);
    w.tasks++;
    w.busyMs += ms;
    this.runs.push({ worker, thread: ev.thread ?? 0, start, stop, op: ev.op });
    const tr = ev.transfer;
    if (tr) {
      this.transfers.tasks++;
      this.transfers.bytes += tr.nbytes;
      this.transfers.ms += Math.max(0, tr.stop - tr.start);
      for (const from of tr.from) {
        const f = this.transfers.from.get(from) ?? this.transfers.from.set(from, { tasks: 0, bytes: 0 }).get(from)!;
        f.tasks++;
        // The bytes of a task's fetches split evenly over its sources: the event does not say more.
        f.bytes += tr.nbytes / tr.from.length;
      }
    }
  }

  /** The report of the graph, once it ended. */
  build(id: string, state: string, error?: string): PerformanceReport {
    clearInterval(this.timer);
    const stop = Date.now();
    // The recorder starts before the graph is submitted: every task begins after it.
    const start = this.t0;
    const workers = [...this.workers.keys()].sort();
    const opNames = [...this.ops.keys()].sort();
    const step = Math.max(1, Math.ceil(this.runs.length / MAX_BARS));
    const bars: PerformanceReport['stream']['bars'] = [];
    for (let i = 0; i < this.runs.length; i += step) {
      const r = this.runs[i]!;
      bars.push([workers.indexOf(r.worker), r.thread, round(r.start - start), round(r.stop - r.start), opNames.indexOf(r.op)]);
    }
    const gpuNow = this.localStats()?.gpu;
    const b = this.gpuBefore;
    return {
      version: 1,
      graph: { id, tasks: this.tasks, state, start, stop, ...(error !== undefined ? { error } : {}) },
      ops: opNames.map((op) => ({ op, ...rounded(this.ops.get(op)!) })),
      groups: [...this.groups.entries()].sort((x, y) => y[1].ms - x[1].ms).map(([group, t]) => ({ group, ...rounded(t), op: t.op })),
      workers: workers.map((worker) => {
        const w = this.workers.get(worker)!;
        return { worker, threads: w.threads.size, tasks: w.tasks, busyMs: round(w.busyMs) };
      }),
      stream: { total: this.runs.length, sampled: step > 1, bars },
      transfers: {
        tasks: this.transfers.tasks,
        bytes: this.transfers.bytes,
        ms: round(this.transfers.ms),
        from: [...this.transfers.from.entries()].map(([worker, f]) => ({ worker, tasks: f.tasks, bytes: Math.round(f.bytes) })),
      },
      memory: this.memory,
      spills: [...this.spill.entries()]
        .sort((x, y) => (x[0] < y[0] ? -1 : 1))
        .map(([worker, { first, last, peak }]) => ({
          worker,
          writes: last.writes - first.writes,
          writeBytes: last.writeBytes - first.writeBytes,
          reads: last.reads - first.reads,
          readBytes: last.readBytes - first.readBytes,
          peakDiskBytes: peak,
        })),
      ...(gpuNow
        ? {
            gpu: {
              tasks: gpuNow.tasks - (b?.tasks ?? 0),
              uploads: gpuNow.uploads - (b?.uploads ?? 0),
              readbacks: gpuNow.readbacks - (b?.readbacks ?? 0),
              readbackBytes: gpuNow.readbackBytes - (b?.readbackBytes ?? 0),
            },
          }
        : {}),
      errors: this.errors.slice(0, 100),
    };
  }

  /** Write the report: HTML, or JSON where the path ends in .json. */
  async write(path: string, id: string, state: string, error?: string): Promise<void> {
    // One last look at the workers: their counters as of the graph's end (up to a heartbeat old).
    while (this.sampling) await new Promise((r) => setTimeout(r, 10));
    await this.sample();
    const report = this.build(id, state, error);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, path.toLowerCase().endsWith('.json') ? JSON.stringify(report) : reportHtml(report));
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
const rounded = (t: Tally): Tally => ({ tasks: t.tasks, ms: round(t.ms), bytes: t.bytes });
