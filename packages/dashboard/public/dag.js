// The graph view: every task as a node in dependency layers (left to right) coloured by its live
// state, for graphs up to a few thousand tasks; beyond that one box per task group with its
// progress. Drawn on a canvas.
import { STATE_COLOURS, fitCanvas, fmtInt, opColour } from './util.js';

const LETTER_STATE = { w: 'waiting', q: 'queued', p: 'processing', m: 'memory', e: 'erred', r: 'released' };
const STATES = ['memory', 'released', 'processing', 'queued', 'erred'];

/** Longest-path layers of a DAG given each node's deps (indexes); cycles cannot happen here. */
function layers(n, deps) {
  const depth = new Int32Array(n).fill(-1);
  const dependents = Array.from({ length: n }, () => []);
  const pending = new Int32Array(n);
  deps.forEach((ds, i) => {
    pending[i] = ds.length;
    for (const d of ds) dependents[d].push(i);
  });
  const queue = [];
  for (let i = 0; i < n; i++) {
    if (pending[i] !== 0) continue;
    depth[i] = 0;
    queue.push(i);
  }
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    for (const j of dependents[i]) {
      depth[j] = Math.max(depth[j], depth[i] + 1);
      if (--pending[j] === 0) queue.push(j);
    }
  }
  for (let i = 0; i < n; i++) if (depth[i] < 0) depth[i] = 0;
  return depth;
}

/** Positions: column by layer, rows ordered by the mean row of their deps (one sweep). */
function layout(names, deps) {
  const n = names.length;
  const depth = layers(n, deps);
  const cols = [];
  for (let i = 0; i < n; i++) (cols[depth[i]] ??= []).push(i);
  const row = new Float64Array(n);
  cols.forEach((col, c) => {
    if (c === 0) col.sort((a, b) => names[a].localeCompare(names[b], 'en', { numeric: true }));
    else {
      const key = (i) =>
        deps[i].length ? deps[i].reduce((s, d) => s + row[d] / Math.max(1, cols[depth[d]].length), 0) / deps[i].length : 0;
      const k = new Map(col.map((i) => [i, key(i)]));
      col.sort((a, b) => k.get(a) - k.get(b) || names[a].localeCompare(names[b], 'en', { numeric: true }));
    }
    col.forEach((i, r) => (row[i] = r));
  });
  return { depth, cols, row };
}

export class DagView {
  constructor(canvas, onPick) {
    this.canvas = canvas;
    this.onPick = onPick;
    this.mode = 'none';
    canvas.addEventListener('click', (ev) => {
      const hit = this.hit(ev);
      if (hit !== undefined) this.onPick(hit);
    });
  }

  clear() {
    this.mode = 'none';
    this.draw();
  }

  /** Task mode: keys, deps (indexes) and a state letter per task. */
  setTasks(keys, deps, states) {
    this.mode = 'tasks';
    this.keys = keys;
    this.deps = deps;
    this.states = states;
    this.lay = layout(keys, deps);
    this.draw();
  }

  setStates(states) {
    this.states = states;
    this.draw();
  }

  /** Group mode: [{group, op, total, counts, deps}]. */
  setGroups(groups) {
    this.mode = 'groups';
    this.groups = groups;
    const names = groups.map((g) => g.group);
    const idx = new Map(names.map((n, i) => [n, i]));
    this.gdeps = groups.map((g) => g.deps.map((d) => idx.get(d)).filter((d) => d !== undefined));
    this.lay = layout(names, this.gdeps);
    this.draw();
  }

  positions(w, h) {
    const { cols, depth, row } = this.lay;
    const ncol = Math.max(1, cols.length);
    const colW = (w - 40) / ncol;
    return (i) => {
      const col = cols[depth[i]];
      const rowH = (h - 30) / Math.max(1, col.length);
      return [20 + colW * (depth[i] + 0.5), 15 + rowH * (row[i] + 0.5), colW, rowH];
    };
  }

  draw() {
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    if (this.mode === 'tasks') this.drawTasks(ctx, w, h);
    else if (this.mode === 'groups') this.drawGroups(ctx, w, h);
  }

  drawTasks(ctx, w, h) {
    const pos = this.positions(w, h);
    const n = this.keys.length;
    const maxCol = Math.max(...this.lay.cols.map((c) => c.length));
    const rowH = (h - 30) / Math.max(1, maxCol);
    const colW = (w - 40) / Math.max(1, this.lay.cols.length);
    const r = Math.max(1.5, Math.min(8, rowH * 0.42, colW * 0.2));
    this.radius = r;
    let edges = 0;
    for (const ds of this.deps) edges += ds.length;
    if (edges <= 20_000) {
      ctx.strokeStyle = edges > 3000 ? 'rgba(120,130,150,0.12)' : 'rgba(120,130,150,0.35)';
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const [x, y] = pos(i);
        for (const d of this.deps[i]) {
          const [dx, dy] = pos(d);
          ctx.moveTo(dx + r, dy);
          ctx.bezierCurveTo((dx + x) / 2, dy, (dx + x) / 2, y, x - r, y);
        }
      }
      ctx.stroke();
    }
    for (let i = 0; i < n; i++) {
      const [x, y] = pos(i);
      const state = LETTER_STATE[this.states[i]] ?? 'waiting';
      ctx.fillStyle = STATE_COLOURS[state];
      ctx.beginPath();
      ctx.arc(x, y, r, 0, Math.PI * 2);
      ctx.fill();
      if (state === 'erred' && r >= 2) {
        ctx.strokeStyle = '#7a1410';
        ctx.stroke();
      }
    }
  }

  drawGroups(ctx, w, h) {
    const pos = this.positions(w, h);
    const boxes = this.groups.map((g, i) => {
      const [x, y, colW, rowH] = pos(i);
      const bw = Math.min(220, colW * 0.8);
      const bh = Math.min(64, Math.max(30, rowH * 0.7));
      return { x: x - bw / 2, y: y - bh / 2, w: bw, h: bh, g };
    });
    this.boxes = boxes;
    ctx.strokeStyle = 'rgba(120,130,150,0.5)';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    this.gdeps.forEach((ds, i) => {
      const b = boxes[i];
      for (const d of ds) {
        const a = boxes[d];
        const x0 = a.x + a.w;
        const y0 = a.y + a.h / 2;
        const x1 = b.x;
        const y1 = b.y + b.h / 2;
        ctx.moveTo(x0, y0);
        ctx.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
      }
    });
    ctx.stroke();
    ctx.lineWidth = 1;
    for (const b of boxes) {
      const { g } = b;
      ctx.fillStyle = '#ffffff';
      ctx.strokeStyle = '#d5dbe4';
      ctx.beginPath();
      ctx.roundRect(b.x, b.y, b.w, b.h, 6);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = opColour(g.op);
      ctx.fillRect(b.x, b.y + 4, 4, b.h - 8);
      ctx.fillStyle = '#1d2433';
      ctx.font = '600 12px system-ui, DejaVu Sans, sans-serif';
      ctx.textBaseline = 'top';
      const label = g.op.length > 26 ? `${g.op.slice(0, 25)}…` : g.op;
      ctx.fillText(label, b.x + 10, b.y + 6);
      ctx.font = '11px system-ui, DejaVu Sans, sans-serif';
      ctx.fillStyle = '#6b7486';
      const done = (g.counts.memory ?? 0) + (g.counts.released ?? 0);
      ctx.fillText(`${fmtInt(done)} / ${fmtInt(g.total)}`, b.x + 10, b.y + 21);
      // Stacked progress bar by state.
      const px = b.x + 10;
      const pw = b.w - 20;
      const py = b.y + b.h - 12;
      ctx.fillStyle = STATE_COLOURS.waiting;
      ctx.fillRect(px, py, pw, 6);
      let off = 0;
      for (const s of STATES) {
        const f = g.total ? (g.counts[s] ?? 0) / g.total : 0;
        ctx.fillStyle = STATE_COLOURS[s];
        ctx.fillRect(px + off * pw, py, f * pw, 6);
        off += f;
      }
    }
  }

  hit(ev) {
    const rect = this.canvas.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const py = ev.clientY - rect.top;
    if (this.mode === 'tasks') {
      const pos = this.positions(rect.width, rect.height);
      let best;
      let bestD = (this.radius + 4) ** 2;
      for (let i = 0; i < this.keys.length; i++) {
        const [x, y] = pos(i);
        const d = (x - px) ** 2 + (y - py) ** 2;
        if (d <= bestD) {
          bestD = d;
          best = this.keys[i];
        }
      }
      return best;
    }
    return undefined;
  }
}
