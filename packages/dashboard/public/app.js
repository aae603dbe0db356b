/* global document, window, fetch, EventSource, requestAnimationFrame, setInterval, clearInterval, HTMLElement */
// @ts-check
// The dashboard page: one EventSource from the dashboard server (a snapshot, then one tick message
// at most every tickMs), rendered into three views: status, workers, graphs; plus a task detail.
import { ThroughputChart } from './charts.js';
import { DagView } from './dag.js';
import { TaskStream } from './taskstream.js';
import { orderGroups, pct, stateBar, tokenOf } from './progress.js';
import { showError, showTask } from './task-detail.js';
import { badge, el, fmtBytes, fmtCpuList, fmtInt, fmtMs, fmtTime, knownOps, opColour } from './util.js';

/** @typedef {import('@tessera/protocol').DashboardSnapshot} DashboardSnapshot */
/** @typedef {import('@tessera/protocol').DashboardTick} DashboardTick */
/** @typedef {import('@tessera/protocol').DashboardGraphRow} GraphRow */
/** @typedef {import('@tessera/protocol').DashboardGraphDetail} GraphDetail */
/** @typedef {import('@tessera/protocol').DashboardWorkerRow} WorkerRow */

/** @param {string} id */
const $ = (id) => document.getElementById(id);
/** @param {string} id */
const tableBody = (id) => /** @type {HTMLTableElement} */ (document.getElementById(id)).tBodies[0];

const state = {
  /** @type {WorkerRow[]} */
  workers: [],
  /** @type {Map<string, GraphRow>} */
  graphs: new Map(),
  /** @type {Map<string, GraphDetail>} */
  details: new Map(),
  totalFinished: 0,
  lastSecond: 0,
  /** @type {Partial<DashboardSnapshot['scheduler']>} */
  scheduler: { up: false },
  connected: false,
  selected: undefined, // graph id shown in the graphs view
  view: 'status',
};

const stream = new TaskStream($('taskstream'), (bar) => showTask(bar[0], bar[1], bar));
const chart = new ThroughputChart($('throughput'));
const dag = new DagView($('dag'), (key) => state.selected && showTask(state.selected, key));

// ---- the feed ----
function connect() {
  const es = new EventSource('/stream');
  es.addEventListener('snapshot', (m) => {
    /** @type {DashboardSnapshot} */
    const s = JSON.parse(m.data);
    state.connected = true;
    state.scheduler = s.scheduler;
    state.workers = s.workers;
    state.graphs = new Map(s.graphs.map((g) => [g.id, g]));
    state.details = new Map(s.details.map((d) => [d.row.id, d]));
    state.totalFinished = s.totalFinished;
    stream.setWorkers(s.workers);
    stream.add(s.bars, s.now);
    chart.ready.then(() => chart.set(s.series));
    const last = s.series[s.series.length - 1];
    state.lastSecond = last ? last[1] : 0;
    invalidate();
  });
  es.addEventListener('tick', (m) => {
    /** @type {DashboardTick} */
    const t = JSON.parse(m.data);
    state.scheduler = { ...state.scheduler, ...t.scheduler };
    state.totalFinished = t.totalFinished;
    if (t.second) {
      state.lastSecond = t.second[1];
      chart.ready.then(() => chart.push(t.second));
    }
    if (t.workers) {
      state.workers = t.workers;
      stream.setWorkers(t.workers);
    }
    if (t.bars) stream.add(t.bars, t.now);
    if (t.graphs) state.graphs = new Map(t.graphs.map((g) => [g.id, g]));
    if (t.rows) for (const r of t.rows) state.graphs.set(r.id, r);
    if (t.details) for (const d of t.details) state.details.set(d.row.id, d);
    invalidate();
  });
  es.onopen = () => {
    state.connected = true;
    invalidate();
  };
  es.onerror = () => {
    state.connected = false;
    invalidate();
  };
}

// ---- rendering, at most once a frame ----
let queued = false;
function invalidate() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    render();
  });
}

function render() {
  renderConn();
  if (state.view === 'status') {
    renderCards();
    renderProgress();
  } else if (state.view === 'workers') renderWorkers();
  else if (state.view === 'graphs') {
    renderGraphs();
    renderGraphDetail();
  }
}

// The task stream scrolls with time: redraw it continuously while visible.
function animate() {
  if (state.view === 'status' && !document.hidden) {
    stream.draw();
    renderLegend();
  }
  requestAnimationFrame(animate);
}

function renderConn() {
  const c = $('conn');
  const up = state.connected && state.scheduler.up;
  c.className = `conn ${up ? 'up' : 'down'}`;
  $('conn-text').textContent = !state.connected
    ? 'dashboard server unreachable'
    : state.scheduler.up
      ? (state.scheduler.label ?? `scheduler ${state.scheduler.url ?? ''}`)
      : `${state.scheduler.url ? 'scheduler' : 'engine'} down${state.scheduler.error ? `: ${state.scheduler.error.slice(0, 80)}` : ''}`;
}

function card(label, value, sub) {
  return el(
    'div',
    { class: 'card' },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, value),
    el('div', { class: 'sub' }, sub ?? '\u00a0'),
  );
}

function renderCards() {
  const alive = state.workers.filter((w) => w.alive);
  const threads = alive.reduce((n, w) => n + w.view.info.threads, 0);
  const bytes = alive.reduce((n, w) => n + (w.view.heartbeat?.bytes ?? 0), 0);
  const limit = alive.reduce((n, w) => n + w.view.info.memoryLimit, 0);
  const rows = [...state.graphs.values()];
  const running = rows.filter((g) => g.state === 'running');
  let processing = 0;
  let queuedN = 0;
  let waiting = 0;
  for (const g of running) {
    processing += g.counts.processing ?? 0;
    queuedN += g.counts.queued ?? 0;
    waiting += Math.max(0, g.total - g.done - (g.counts.processing ?? 0) - (g.counts.queued ?? 0) - (g.counts.erred ?? 0));
  }
  const erred = rows.filter((g) => g.state === 'erred').length;
  const dead = state.workers.length - alive.length;
  $('cards').replaceChildren(
    card('Workers', fmtInt(alive.length), `${fmtInt(threads)} threads${dead ? ` · ${dead} dead` : ''}`),
    card('Tasks / s', fmtInt(state.lastSecond), 'last second'),
    card('Processing', fmtInt(processing), `${fmtInt(queuedN)} queued · ${fmtInt(waiting)} waiting`),
    card('Finished', fmtInt(state.totalFinished), 'tasks seen by this dashboard'),
    card('Graphs', fmtInt(running.length), `running · ${erred} erred · ${rows.length} listed`),
    card('Memory', fmtBytes(bytes), limit ? `of ${fmtBytes(limit)} limit` : ''),
  );
}

let legendShown = '';
function renderLegend() {
  const ops = knownOps();
  const key = ops.join('|');
  if (legendShown === key) return;
  legendShown = key;
  $('stream-legend').replaceChildren(
    ...ops.slice(0, 12).map((op) => el('span', {}, el('i', { class: 'sw', style: `background:${opColour(op)}` }), op)),
    el('span', {}, el('i', { class: 'sw transfer' }), 'transfer'),
    el('span', {}, el('i', { class: 'sw st-erred' }), 'error'),
  );
}

/** A stacked bar of task states: done, processing, queued, erred over waiting. */
/** The graph the status page follows: the newest running one, else the newest. */
function focusGraph() {
  const rows = [...state.graphs.values()].sort((a, b) => b.submittedAt - a.submittedAt);
  return rows.find((g) => g.state === 'running') ?? rows[0];
}

function renderProgress() {
  const g = focusGraph();
  const box = $('progress');
  if (!g) {
    $('progress-graph').textContent = '';
    box.replaceChildren(el('div', { class: 'empty' }, 'No graph submitted yet.'));
    return;
  }
  $('progress-graph').textContent = `· ${g.id} · ${g.state}`;
  const d = state.details.get(g.id);
  const rows = [
    el(
      'div',
      { class: 'prow', 'data-graph': g.id, 'data-testid': 'graph-progress' },
      el('div', { class: 'name', title: g.id }, el('b', {}, 'all tasks')),
      stateBar(g.counts, g.total),
      el('div', { class: 'count' }, el('span', { class: 'pct' }, `${pct(g.done, g.total)}%`), ` · ${fmtInt(g.done)}/${fmtInt(g.total)}`),
    ),
  ];
  for (const grp of orderGroups(d?.groups ?? []).slice(0, 40)) {
    const done = (grp.counts.memory ?? 0) + (grp.counts.released ?? 0);
    rows.push(
      el(
        'div',
        { class: 'prow', title: grp.group },
        el(
          'div',
          { class: 'name' },
          el('i', { class: 'sw', style: `background:${opColour(grp.op)};margin-right:6px` }),
          grp.op,
          el('span', { class: 'muted' }, ` ${tokenOf(grp.group)}`),
        ),
        stateBar(grp.counts, grp.total),
        el('div', { class: 'count' }, `${fmtInt(done)} / ${fmtInt(grp.total)}`),
      ),
    );
  }
  box.replaceChildren(...rows);
}

/** The last GPU counters seen per worker, for rates between two heartbeats. */
const gpuSeen = new Map();

/** A worker's GPU copies per second since the previous heartbeat that moved its clock. */
function gpuRates(id, at, gpu) {
  const prev = gpuSeen.get(id);
  if (!prev || prev.at !== at) gpuSeen.set(id, { at, gpu, rates: prev && at > prev.at ? { up: ((gpu.uploads - prev.gpu.uploads) * 1000) / (at - prev.at), down: ((gpu.readbacks - prev.gpu.readbacks) * 1000) / (at - prev.at) } : prev?.rates });
  return gpuSeen.get(id).rates;
}

/** What gpustat shows, per worker with a GPU. */
function renderGpus() {
  const withGpu = state.workers.filter((w) => w.alive && w.view.heartbeat?.gpu);
  $('gpu-panel').hidden = withGpu.length === 0;
  if (withGpu.length === 0) return;
  tableBody('gpu-table').replaceChildren(
    ...withGpu.map((w) => {
      const { info, heartbeat: hb } = w.view;
      const g = hb.gpu;
      const rates = gpuRates(info.id, hb.at, g);
      const frac = g.memoryLimit ? Math.min(1, g.deviceBytes / g.memoryLimit) : 0;
      return el(
        'tr',
        { 'data-gpu-worker': info.id },
        el('td', { class: 'mono' }, info.id),
        el('td', {}, info.gpu?.name ?? info.device, info.gpu?.fallback ? el('span', { class: 'muted small' }, ' (software)') : ''),
        el('td', {}, el('span', { class: 'membar' }, el('i', { style: `width:${frac * 100}%` })), `${fmtBytes(g.deviceBytes)} / ${fmtBytes(g.memoryLimit)}`),
        el('td', { class: 'num' }, fmtInt(g.deviceChunks)),
        el('td', { class: 'num', 'data-uploads': String(g.uploads) }, rates ? rates.up.toFixed(1) : '-'),
        el('td', { class: 'num', 'data-readbacks': String(g.readbacks) }, rates ? rates.down.toFixed(1) : '-'),
        el('td', { class: 'num' }, fmtBytes(g.readbackBytes)),
        el('td', { class: 'num' }, fmtInt(g.running)),
        el('td', { class: 'num', 'data-gpu-tasks': String(g.tasks) }, fmtInt(g.tasks)),
      );
    }),
  );
}

function renderWorkers() {
  renderGpus();
  const alive = state.workers.filter((w) => w.alive).length;
  $('workers-summary').textContent = `${alive} alive${state.workers.length - alive ? `, ${state.workers.length - alive} dead` : ''}`;
  const body = tableBody('workers-table');
  if (state.workers.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 11, class: 'empty' }, 'No workers have joined.')));
    return;
  }
  body.replaceChildren(
    ...state.workers.map((w) => {
      const { info, heartbeat: hb, age } = w.view;
      const late = w.alive && age > 3_000;
      const status = !w.alive ? badge('dead') : late ? badge('late') : badge('alive');
      const used = hb?.bytes ?? 0;
      const frac = info.memoryLimit ? Math.min(1, used / info.memoryLimit) : 0;
      return el(
        'tr',
        { class: w.alive ? '' : 'dead', 'data-worker': info.id, 'data-alive': String(w.alive) },
        el('td', { class: 'mono' }, info.id),
        el('td', {}, status),
        el('td', {}, info.host),
        el('td', { class: 'num' }, fmtInt(info.threads), info.cpus ? el('span', { class: 'muted small', 'data-cpus': '' }, ` · CPUs ${fmtCpuList(info.cpus)}`) : ''),
        el('td', {}, info.device),
        el(
          'td',
          {},
          el('span', { class: 'membar' }, el('i', { style: `width:${frac * 100}%` })),
          `${fmtBytes(used)} / ${fmtBytes(info.memoryLimit)}`,
          hb?.rss ? el('span', { class: 'muted small' }, ` · rss ${fmtBytes(hb.rss)}`) : '',
        ),
        el('td', { class: 'num' }, fmtInt(hb?.chunks)),
        el('td', { class: 'num' }, fmtBytes(hb?.bytes)),
        el('td', { class: 'num' }, fmtInt(hb?.running)),
        el('td', { class: 'num' }, fmtInt(hb?.executed)),
        el('td', { class: 'num' }, w.alive ? fmtMs(age) : `gone ${fmtTime(w.diedAt)}`),
      );
    }),
  );
}

function duration(g) {
  if (g.finishedAt) return fmtMs(g.finishedAt - g.submittedAt);
  if (g.state === 'running') return fmtMs(Date.now() - g.submittedAt);
  return '–';
}

function renderGraphs() {
  const rows = [...state.graphs.values()].sort((a, b) => b.submittedAt - a.submittedAt);
  const running = rows.filter((g) => g.state === 'running').length;
  $('graphs-summary').textContent = `${rows.length} graphs · ${running} running`;
  const body = tableBody('graphs-table');
  if (rows.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No graphs yet: submit one with the client.')));
    return;
  }
  body.replaceChildren(
    ...rows.map((g) =>
      el(
        'tr',
        { 'data-graph': g.id, 'data-state': g.state, class: g.id === state.selected ? 'selected' : '', onclick: () => selectGraph(g.id) },
        el('td', { class: 'mono' }, g.id),
        el('td', {}, badge(g.state), g.archived ? ' ' : '', g.archived ? badge('history', 'archived') : ''),
        el(
          'td',
          { style: 'min-width:180px' },
          stateBar(g.counts, g.total),
          el('span', { class: 'muted small pct' }, `${pct(g.done, g.total)}%`),
        ),
        el('td', { class: 'num' }, `${fmtInt(g.done)} / ${fmtInt(g.total)}`),
        el('td', { class: 'num' }, fmtInt(g.counts.erred ?? 0)),
        el('td', {}, fmtTime(g.submittedAt)),
        el('td', { class: 'num' }, duration(g)),
        el('td', { class: 'errtext', title: g.error?.message ?? '' }, g.error ? `${g.error.name}: ${g.error.message}` : ''),
      ),
    ),
  );
}

// ---- graph detail ----
let dagPoll;
let dagFor;

async function selectGraph(id) {
  state.selected = id;
  if (window.location.hash !== `#graphs/${id}`) window.history.replaceState(null, '', `#graphs/${id}`);
  dag.clear();
  dagFor = undefined;
  clearInterval(dagPoll);
  invalidate();
  try {
    const res = await fetch(`/api/graph/${encodeURIComponent(id)}?dag=1`);
    if (!res.ok) return;
    const d = await res.json();
    if (state.selected !== id) return;
    state.details.set(id, { ...(state.details.get(id) ?? {}), ...d });
    if (d.tasks) {
      dagFor = id;
      dag.setTasks(d.tasks.keys, d.tasks.deps, d.tasks.states);
      dagPoll = setInterval(async () => {
        if (state.selected !== id || state.view !== 'graphs') return;
        const r = await fetch(`/api/graph/${encodeURIComponent(id)}/states`).catch(() => undefined);
        if (r?.ok) {
          const s = await r.json();
          dag.setStates(s.states);
          if (s.state !== 'running') clearInterval(dagPoll);
        }
      }, 500);
    }
    invalidate();
  } catch {
    // The table still shows the row.
  }
}

function renderGraphDetail() {
  const panel = $('graph-detail');
  const id = state.selected;
  const g = id && state.graphs.get(id);
  if (!g) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const d = state.details.get(id);
  $('gd-id').textContent = id;
  $('gd-state').replaceChildren(badge(g.state));
  $('gd-summary').replaceChildren(
    el('span', {}, 'tasks ', el('b', {}, `${fmtInt(g.done)} / ${fmtInt(g.total)}`)),
    el('span', {}, 'outputs ', el('b', {}, fmtInt(g.outputs))),
    el('span', {}, 'submitted ', el('b', {}, fmtTime(g.submittedAt))),
    el('span', {}, 'duration ', el('b', {}, duration(g))),
    el('span', {}, 'erred ', el('b', {}, fmtInt(g.counts.erred ?? 0))),
  );
  const err = $('gd-error');
  if (g.error) {
    err.hidden = false;
    err.textContent = `${g.error.name} (${g.error.code})${g.error.key ? ` in ${g.error.key}` : ''}: ${g.error.message}`;
    err.onclick = () => (g.error.key ? showTask(id, g.error.key) : showError(id, g.error));
  } else err.hidden = true;
  const groups = d?.groups ?? [];
  if (dagFor !== id) {
    if (groups.length) dag.setGroups(groups);
    $('gd-note').textContent = groups.length
      ? `${groups.length} task groups${d?.dag ? '' : ` (the graph has more tasks than the task view draws: shown by group)`}`
      : g.archived
        ? 'From the history: the graph’s tasks are no longer in Redis.'
        : '';
  } else $('gd-note').textContent = `${fmtInt(g.total)} tasks · click a task for its detail`;
  const errors = d?.errors ?? [];
  $('gd-errors').replaceChildren(
    ...(errors.length
      ? [
          el(
            'div',
            { class: 'errlist' },
            el('h3', {}, `Erred tasks (${errors.length})`),
            el(
              'table',
              { class: 'table clickable', 'data-testid': 'erred-tasks' },
              el(
                'tbody',
                {},
                errors.map((e) =>
                  el(
                    'tr',
                    { onclick: () => showTask(id, e.key) },
                    el('td', { class: 'mono' }, e.key),
                    el('td', {}, e.worker ?? ''),
                    el('td', { class: 'errtext' }, e.error ? `${e.error.name}: ${e.error.message}` : ''),
                  ),
                ),
              ),
            ),
          ),
        ]
      : []),
  );
}

// ---- views ----
function route() {
  const [view, arg] = (window.location.hash.slice(1) || 'status').split('/');
  state.view = ['status', 'workers', 'graphs'].includes(view) ? view : 'status';
  for (const v of ['status', 'workers', 'graphs']) $(`view-${v}`).hidden = v !== state.view;
  for (const a of document.querySelectorAll('.tabs a')) if (a instanceof HTMLElement) a.classList.toggle('active', a.dataset.view === state.view);
  if (state.view === 'graphs' && arg && arg !== state.selected) void selectGraph(decodeURIComponent(arg));
  if (state.view === 'status') chart.ready.then(() => chart.resize());
  if (state.view === 'graphs' && dagFor) requestAnimationFrame(() => dag.draw());
  invalidate();
}
window.addEventListener('hashchange', route);
// Durations of running graphs tick even when nothing else changes.
setInterval(invalidate, 1000);
route();
connect();
animate();
