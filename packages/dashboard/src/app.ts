import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GraphId, HEARTBEAT, SSE_HEADERS, sseMessage, type DashboardGraphDetail, type DashboardSnapshot, type DashboardTick } from '@tessera/protocol';
import { ClusterModel, type GraphModel, type GraphRow, type TaskRecord } from './model.js';
import type { ResolvedOptions } from './options.js';
import { EngineSource, SchedulerSource, type DashboardSource } from './source.js';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

/** The page's own files: a fixed list, nothing else under public/ is served. */
const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/style.css': 'style.css',
  '/app.js': 'app.js',
  '/charts.js': 'charts.js',
  '/taskstream.js': 'taskstream.js',
  '/dag.js': 'dag.js',
  '/util.js': 'util.js',
  '/task-detail.js': 'task-detail.js',
  '/progress.js': 'progress.js',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};

/** uPlot's dist files, served from node_modules (never copied), when the package is installed. */
function uplotFiles(): Record<string, string> {
  try {
    const pkg = createRequire(import.meta.url).resolve('uplot/package.json');
    const dist = join(dirname(pkg), 'dist');
    return { '/vendor/uPlot.iife.min.js': join(dist, 'uPlot.iife.min.js'), '/vendor/uPlot.min.css': join(dist, 'uPlot.min.css') };
  } catch {
    return {};
  }
}


/** A browser this far behind (bytes unsent) misses ticks and gets a fresh snapshot when it catches up. */
const MAX_BROWSER_BACKLOG = 4 * 1024 * 1024;
const HISTORY_POLL_MS = 30_000;

interface Browser {
  res: ServerResponse;
  needsSnapshot: boolean;
  /** Messages written, for tests of the rate bound. */
  sent: number;
}

const GraphIdParam = z.object({
  id: GraphId,
});
const TaskParams = GraphIdParam.extend({ key: z.string().min(1).max(4096) });

export interface DashboardServer {
  readonly app: FastifyInstance;
  readonly model: ClusterModel;
  /** Open browser streams. */
  browsers(): number;
  /** Messages sent so far to each open browser stream. */
  sentCounts(): number[];
  close(): Promise<void>;
}

/** The scheduler at `o.scheduler` over HTTP, or the engine in this process at `o.engine`. */
export function sourceOf(o: ResolvedOptions): DashboardSource {
  if (o.engine?.monitor) return new EngineSource(o.engine.monitor());
  return new SchedulerSource(o.scheduler!, o.token);
}

/**
 * The dashboard server: reads its source (worker and graph lists by polling, every event by its
 * feed, each graph's structure once), aggregates into a ClusterModel, and every `tickMs` sends each
 * browser one message (built once, shared by all): what changed, and a bounded sample of new bars.
 */
export function buildDashboard(o: ResolvedOptions, source: DashboardSource = sourceOf(o)): DashboardServer {
  const client = source;
  const model = new ClusterModel((g) => loadStructure(g), o.dagMaxTasks);
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 4096 } });
  const browsers = new Set<Browser>();
  const aborter = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let schedulerUp = false;
  let schedulerError = '';
  let lastList = 0;
  const vendor = uplotFiles();

  function loadStructure(g: GraphModel): void {
    if (g.structure === 'loading' || g.structure === 'loaded') return;
    g.structure = 'loading';
    client.structure(g.status.id, o.dagMaxTasks).then(
      (s) => model.structureLoaded(g, s),
      () => model.structureFailed(g),
    );
  }

  // ---- reading the scheduler ----
  async function pollWorkers(): Promise<void> {
    try {
      model.applyWorkers(await client.workers());
      schedulerUp = true;
      schedulerError = '';
    } catch (e) {
      schedulerUp = false;
      schedulerError = e instanceof Error ? e.message : String(e);
      // An unreachable scheduler: every worker is of unknown state, not dead.
    }
  }

  async function pollGraphs(): Promise<void> {
    try {
      const graphs = await client.graphs();
      for (const s of graphs) model.applyStatus(s);
      model.graphsGone(new Set(graphs.map((g) => g.id)));
      lastList = Date.now();
    } catch {
      // Next time; the worker poll reports the scheduler down.
    }
  }

  async function pollHistory(): Promise<void> {
    try {
      model.applyHistory(await client.history());
    } catch {
      // Next time.
    }
  }

  function every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    timers.push(
      setInterval(() => {
        if (running) return;
        running = true;
        void fn().finally(() => (running = false));
      }, ms),
    );
  }

  void pollWorkers();
  void pollGraphs().then(() => pollHistory());
  every(o.workersPollMs, pollWorkers);
  every(o.graphsPollMs, pollGraphs);
  every(HISTORY_POLL_MS, pollHistory);
  void client.follow(
    (events) => model.applyBatch(events),
    () => {
      // Whatever happened while the feed was down: running graphs' structures are read again.
      for (const g of model.graphs.values()) {
        if (g.status.state === 'running' && g.structure !== 'loading') {
          g.structure = 'none';
          loadStructure(g);
        }
      }
      void pollGraphs();
    },
    aborter.signal,
  );

  // ---- pushing to browsers ----
  let lastListVersion = -1;
  let lastWorkersVersion = -1;

  function graphDetail(g: GraphModel): DashboardGraphDetail {
    return { row: g.row(), groups: g.groupViews(), errors: g.errors.slice(-20), structure: g.structure, dag: g.dag !== undefined };
  }

  function snapshot(): string {
    const active = [...model.graphs.values()].sort((a, b) => b.status.submittedAt - a.status.submittedAt).slice(0, 10);
    const msg: DashboardSnapshot = {
      type: 'snapshot',
      now: Date.now(),
      tickMs: o.tickMs,
      scheduler: { url: o.scheduler, label: source.label, up: schedulerUp, error: schedulerError },
      workers: model.workerRows(),
      graphs: model.graphRows(),
      details: active.map(graphDetail),
      bars: model.recentBars.slice(-2_000),
      series: model.series,
      totalFinished: model.totalFinished,
    };
    return sseMessage({ event: 'snapshot', data: JSON.stringify(msg) });
  }

  function tickMessage(): string | undefined {
    model.rollSeries();
    const bars = model.takeBars(o.maxBarsPerTick);
    const changed = [...model.graphs.values()].filter((g) => g.dirty);
    for (const g of changed) g.dirty = false;
    const msg: DashboardTick = {
      type: 'tick',
      now: Date.now(),
      scheduler: { up: schedulerUp, error: schedulerError },
      totalFinished: model.totalFinished,
      second: model.series[model.series.length - 1] ?? null,
    };
    if (bars.length) msg.bars = bars;
    if (changed.length) msg.details = changed.map(graphDetail);
    if (model.listVersion !== lastListVersion || changed.length) {
      // The whole list when graphs came or went; otherwise only the rows that moved.
      if (model.listVersion !== lastListVersion) msg.graphs = model.graphRows();
      else msg.rows = changed.map((g) => g.row());
      lastListVersion = model.listVersion;
    }
    if (model.workersVersion !== lastWorkersVersion) {
      msg.workers = model.workerRows();
      lastWorkersVersion = model.workersVersion;
    }
    return sseMessage({ event: 'tick', data: JSON.stringify(msg) });
  }

  timers.push(
    setInterval(() => {
      if (browsers.size === 0) {
        // Nobody watching: keep the model current, build no message.
        model.rollSeries();
        model.takeBars(0);
        for (const g of model.graphs.values()) g.dirty = false;
        return;
      }
      const text = tickMessage();
      if (!text) return;
      let snap: string | undefined;
      for (const b of browsers) {
        if (b.res.writableEnded || b.res.destroyed) continue;
        if (b.res.writableLength > MAX_BROWSER_BACKLOG) {
          b.needsSnapshot = true;
          continue;
        }
        if (b.needsSnapshot) {
          b.res.write((snap ??= snapshot()));
          b.needsSnapshot = false;
        } else b.res.write(text);
        b.sent++;
      }
    }, o.tickMs),
  );
  // Keep idle connections open through proxies.
  timers.push(
    setInterval(() => {
      for (const b of browsers) if (!b.res.writableEnded) b.res.write(HEARTBEAT);
    }, 15_000),
  );

  // ---- routes ----
  app.get('/stream', async (_request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, SSE_HEADERS);
    const b: Browser = { res, needsSnapshot: false, sent: 1 };
    res.write(snapshot());
    browsers.add(b);
    // 'close' on the response: the page went away (or the server is closing).
    res.on('close', () => browsers.delete(b));
  });

  app.get('/health', async () => ({ ok: true, source: source.label, scheduler: o.scheduler, schedulerUp, lastGraphList: lastList }));

  /** One graph: its row, groups, errors; `?dag=1` adds the tasks and deps when small enough to draw. */
  app.get('/api/graph/:id', async (request, reply) => {
    const p = GraphIdParam.safeParse(request.params);
    if (!p.success) return reply.code(400).send({ error: p.error.issues[0]?.message });
    const g = model.graphs.get(p.data.id);
    if (!g) {
      const archived = model.history.get(p.data.id);
      if (archived) return { row: archived, groups: [], errors: [], structure: 'none', dag: false };
      return reply.code(404).send({ error: `no graph ${p.data.id}` });
    }
    if (g.structure === 'none' || g.structure === 'failed') loadStructure(g);
    const q = request.query as { dag?: string };
    const detail = graphDetail(g) as Record<string, unknown>;
    if (q.dag === '1' && g.dag) detail.tasks = { keys: g.dag.keys, deps: g.dag.deps, states: statesOf(g) };
    return detail;
  });

  /** The graph's task states in DAG order, one letter each: the DAG view polls this while open. */
  app.get('/api/graph/:id/states', async (request, reply) => {
    const p = GraphIdParam.safeParse(request.params);
    if (!p.success) return reply.code(400).send({ error: p.error.issues[0]?.message });
    const g = model.graphs.get(p.data.id);
    if (!g?.dag) return reply.code(404).send({ error: `no task view of graph ${p.data.id}` });
    return { state: g.status.state, states: statesOf(g) };
  });

  app.get('/api/graph/:id/task/:key', async (request, reply) => {
    const p = TaskParams.safeParse(request.params);
    if (!p.success) return reply.code(400).send({ error: p.error.issues[0]?.message });
    const g = model.graphs.get(p.data.id);
    const t: TaskRecord | undefined = g?.tasks?.get(p.data.key) ?? g?.errors.find((e) => e.key === p.data.key);
    if (!g || !t)
      return reply.code(404).send({ error: `no task ${p.data.key} in graph ${p.data.id} (the dashboard keeps the newest graphs' tasks)` });
    return { graph: p.data.id, ...t };
  });

  app.get('/api/graphs', async (): Promise<{ graphs: GraphRow[] }> => ({ graphs: model.graphRows() }));

  for (const [path, file] of Object.entries(PAGE_FILES)) {
    app.get(path, async (_request, reply) => {
      const body = await readFile(join(PUBLIC, file));
      return reply
        .type(TYPES[file.split('.').pop()!] ?? 'application/octet-stream')
        .header('cache-control', 'no-cache')
        .send(body);
    });
  }
  app.get('/vendor/:file', async (request, reply) => {
    const file = vendor[request.url.split('?')[0]!];
    if (!file) return reply.code(404).send({ error: 'uPlot is not installed (npm install uplot in packages/dashboard)' });
    return reply
      .type(file.endsWith('.css') ? TYPES.css! : TYPES.js!)
      .header('cache-control', 'max-age=3600')
      .send(await readFile(file));
  });

  app.addHook('preClose', async () => {
    aborter.abort();
    for (const t of timers) clearInterval(t);
    for (const b of browsers) b.res.end();
    browsers.clear();
  });

  return {
    app,
    model,
    browsers: () => browsers.size,
    sentCounts: () => [...browsers].map((b) => b.sent),
    close: () => app.close(),
  };
}

const LETTER: Record<string, string> = { waiting: 'w', queued: 'q', processing: 'p', memory: 'm', erred: 'e', released: 'r' };

function statesOf(g: GraphModel): string {
  if (!g.dag) return '';
  let out = '';
  for (const k of g.dag.keys) out += LETTER[g.tasks?.get(k)?.state ?? 'waiting'] ?? 'w';
  return out;
}
