/* global document */
// The task stream: one lane per worker thread, one bar per finished task (start to stop),
// coloured by op; erred tasks red; inputs fetched from other workers first, a hatched grey
// segment from the fetch's start to its end (bar[7..10]). Drawn on a canvas (thousands of bars a second).
import { el, fitCanvas, fmtBytes, fmtMs, opColour, opOfKey } from './util.js';

/** Grey diagonal hatching: a transfer, whatever the op. */
function hatch(ctx) {
  const tile = document.createElement('canvas');
  tile.width = 6;
  tile.height = 6;
  const t = tile.getContext('2d');
  t.fillStyle = '#e6e9ef';
  t.fillRect(0, 0, 6, 6);
  t.strokeStyle = '#7d8696';
  t.lineWidth = 1.5;
  t.beginPath();
  t.moveTo(-1, 7);
  t.lineTo(7, -1);
  t.moveTo(5, 7);
  t.lineTo(7, 5);
  t.moveTo(-1, 1);
  t.lineTo(1, -1);
  t.stroke();
  return ctx.createPattern(tile, 'repeat');
}

/** What a bar's transfer says, for the tooltip and task detail. */
export function transferText(b) {
  if (b.length <= 7) return '';
  return `fetched ${fmtBytes(b[9])} from ${b[10]} in ${fmtMs(b[8] - b[7])}`;
}

const GUTTER = 150;
const AXIS = 22;
const MAX_BARS = 20_000;

export class TaskStream {
  constructor(canvas, onPick) {
    this.canvas = canvas;
    this.onPick = onPick;
    this.bars = [];
    this.lanes = new Map(); // 'worker/thread' -> { worker, thread, dead }
    this.windowMs = 20_000;
    this.clockSkew = 0; // server now - our now
    this.tip = el('div', { class: 'tooltip', hidden: true });
    document.body.append(this.tip);
    canvas.addEventListener('click', (ev) => {
      const b = this.hit(ev);
      if (b) this.onPick(b);
    });
    canvas.addEventListener('mousemove', (ev) => this.hover(ev));
    canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
  }

  setWorkers(rows) {
    const keep = new Map();
    for (const r of rows) {
      const threads = r.view.info.threads;
      for (let t = 0; t < threads; t++) keep.set(`${r.view.info.id}/${t}`, { worker: r.view.info.id, thread: t, dead: !r.alive });
    }
    // Lanes only seen in bars (a worker since gone from the list) stay while they have bars.
    for (const [k, l] of this.lanes) if (!keep.has(k) && this.bars.some((b) => `${b[2]}/${b[3]}` === k)) keep.set(k, { ...l, dead: true });
    this.lanes = new Map([...keep].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
  }

  add(bars, serverNow) {
    if (serverNow) this.clockSkew = serverNow - Date.now();
    for (const b of bars) {
      this.bars.push(b);
      if (b.length > 7) this.canvas.dataset.transfers = String(Number(this.canvas.dataset.transfers ?? 0) + 1);
      const k = `${b[2]}/${b[3]}`;
      if (!this.lanes.has(k)) this.lanes.set(k, { worker: b[2], thread: b[3], dead: false });
    }
    if (this.bars.length > MAX_BARS) this.bars.splice(0, this.bars.length - MAX_BARS);
  }

  now() {
    return Date.now() + this.clockSkew;
  }

  geometry() {
    const { w, h } = { w: this.canvas.clientWidth, h: this.canvas.clientHeight };
    const lanes = [...this.lanes.keys()];
    const laneH = Math.max(6, Math.min(30, (h - AXIS - 4) / Math.max(1, lanes.length)));
    const t1 = this.now();
    const t0 = t1 - this.windowMs;
    const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * (w - GUTTER - 8);
    return { w, h, lanes, laneH, t0, t1, x };
  }

  draw() {
    // As tall as the lanes need (22 px each), within bounds.
    const want = `${Math.max(150, Math.min(520, this.lanes.size * 26 + AXIS + 8))}px`;
    if (this.canvas.style.height !== want) this.canvas.style.height = want;
    const { ctx } = fitCanvas(this.canvas);
    const g = this.geometry();
    const { w, h, lanes, laneH, t0, t1, x } = g;
    ctx.clearRect(0, 0, w, h);
    const index = new Map(lanes.map((k, i) => [k, i]));
    // What is drawn, for tests and scripts: lanes as worker/thread, bars kept.
    const laneList = lanes.join(' ');
    if (this.canvas.dataset.lanes !== laneList) this.canvas.dataset.lanes = laneList;
    if (this.canvas.dataset.bars !== String(this.bars.length)) this.canvas.dataset.bars = String(this.bars.length);
    // Lane backgrounds and labels.
    ctx.font = '12px ui-monospace, DejaVu Sans Mono, monospace';
    ctx.textBaseline = 'middle';
    lanes.forEach((k, i) => {
      const l = this.lanes.get(k);
      const y = 2 + i * laneH;
      ctx.fillStyle = i % 2 ? '#f7f9fc' : '#ffffff';
      ctx.fillRect(GUTTER, y, w - GUTTER, laneH);
      if (laneH >= 10) {
        ctx.fillStyle = l.dead ? '#b0b6c1' : '#4a5366';
        const name = l.worker.length > 14 ? `${l.worker.slice(0, 13)}…` : l.worker;
        ctx.fillText(`${name} · ${l.thread}${l.dead ? ' ✝' : ''}`, 6, y + laneH / 2);
      }
    });
    if (lanes.length === 0) {
      ctx.fillStyle = '#8a93a5';
      ctx.fillText('no workers yet', GUTTER + 10, 20);
    }
    // Bars: only those in the window.
    const pad = laneH > 10 ? 3 : 1;
    // Transfers first, under the compute bars (a thread may run another task while a fetch goes on),
    // then a dark line under each on top, so a hidden one still shows.
    this.pattern ??= hatch(ctx);
    const marks = [];
    for (const b of this.bars) {
      if (b.length <= 7 || b[8] < t0 || b[7] > t1) continue;
      const i = index.get(`${b[2]}/${b[3]}`);
      if (i === undefined) continue;
      const x0 = Math.max(GUTTER, x(b[7]));
      // At least 4 px: a sub-millisecond fetch must still show.
      const x1 = Math.max(x0 + 4, x(b[8]));
      const y = 2 + i * laneH + pad;
      ctx.fillStyle = this.pattern;
      ctx.fillRect(x0, y, x1 - x0, laneH - 2 * pad);
      marks.push([x0, x1, y + laneH - 2 * pad - 2]);
    }
    if (this.canvas.dataset.transfersDrawn !== String(marks.length)) this.canvas.dataset.transfersDrawn = String(marks.length);
    for (const b of this.bars) {
      if (b[5] < t0 || b[4] > t1) continue;
      const i = index.get(`${b[2]}/${b[3]}`);
      if (i === undefined) continue;
      const x0 = Math.max(GUTTER, x(b[4]));
      const x1 = Math.max(x0 + 1.5, x(b[5]));
      const y = 2 + i * laneH + pad;
      if (b[6] === 'e') {
        ctx.fillStyle = '#d9463e';
        ctx.fillRect(x0, y, Math.max(3, x1 - x0), laneH - 2 * pad);
        ctx.strokeStyle = '#7a1410';
        ctx.strokeRect(x0 + 0.5, y + 0.5, Math.max(3, x1 - x0) - 1, laneH - 2 * pad - 1);
      } else {
        ctx.fillStyle = opColour(opOfKey(b[1]));
        ctx.fillRect(x0, y, x1 - x0, laneH - 2 * pad);
      }
    }
    ctx.fillStyle = '#5b6474';
    for (const [x0, x1, y] of marks) ctx.fillRect(x0, y, x1 - x0, 2);
    // Time axis: seconds before now.
    ctx.fillStyle = '#8a93a5';
    ctx.strokeStyle = '#e3e7ee';
    ctx.textBaseline = 'top';
    ctx.font = '11px system-ui, DejaVu Sans, sans-serif';
    const axisY = h - AXIS + 4;
    for (let s = 0; s <= this.windowMs / 1000; s += 5) {
      const xx = x(t1 - s * 1000);
      ctx.beginPath();
      ctx.moveTo(xx, 2);
      ctx.lineTo(xx, axisY - 4);
      ctx.stroke();
      ctx.fillText(s === 0 ? 'now' : `-${s}s`, xx - (s === 0 ? 22 : 10), axisY);
    }
  }

  hit(ev) {
    const r = this.canvas.getBoundingClientRect();
    const px = ev.clientX - r.left;
    const py = ev.clientY - r.top;
    const { lanes, laneH, x } = this.geometry();
    const i = Math.floor((py - 2) / laneH);
    const lane = lanes[i];
    if (!lane || px < GUTTER) return undefined;
    let best;
    let bestD = 4; // pixels of slack for thin bars
    for (const b of this.bars) {
      if (`${b[2]}/${b[3]}` !== lane) continue;
      // A bar with a transfer is hit from the fetch's start.
      const x0 = b.length > 7 ? Math.min(x(b[7]), x(b[4])) : x(b[4]);
      const x1 = Math.max(x0 + 1.5, x(b[5]));
      const d = px < x0 ? x0 - px : px > x1 ? px - x1 : 0;
      if (d <= bestD) {
        bestD = d;
        best = b;
      }
    }
    return best;
  }

  hover(ev) {
    const b = this.hit(ev);
    if (!b) {
      this.tip.hidden = true;
      return;
    }
    this.tip.hidden = false;
    const moved = transferText(b);
    this.tip.textContent = `${opOfKey(b[1])} · ${fmtMs(b[5] - b[4])}${b[6] === 'e' ? ' · erred' : ''}${moved ? ` · ${moved}` : ''}`;
    this.tip.style.left = `${ev.clientX + 12}px`;
    this.tip.style.top = `${ev.clientY + 12}px`;
  }
}
