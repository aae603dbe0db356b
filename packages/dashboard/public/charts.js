/* global document, window, fetch */
// The throughput chart: uPlot (served from node_modules by the dashboard server) when it is there,
// else a small canvas line chart so the page still works.
import { el, fitCanvas, fmtInt } from './util.js';

let loading;
/** Load uPlot's script and stylesheet once; resolves to the uPlot constructor or undefined. */
export function loadUPlot() {
  loading ??= (async () => {
    if (window.uPlot) return window.uPlot;
    try {
      const head = await fetch('/vendor/uPlot.iife.min.js', { method: 'HEAD' });
      if (!head.ok) return undefined;
    } catch {
      return undefined;
    }
    document.head.append(el('link', { rel: 'stylesheet', href: '/vendor/uPlot.min.css' }));
    await new Promise((resolve) => {
      const s = el('script', { src: '/vendor/uPlot.iife.min.js' });
      s.onload = resolve;
      s.onerror = resolve;
      document.head.append(s);
    });
    return window.uPlot;
  })();
  return loading;
}

/** A round axis top: 1, 2 or 5 times a power of ten, divisible in 4 ticks. */
function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export class ThroughputChart {
  constructor(container) {
    this.container = container;
    this.data = [[], []];
    this.plot = undefined;
    this.canvas = undefined;
    this.ready = loadUPlot().then((uPlot) => this.init(uPlot));
    window.addEventListener('resize', () => this.resize());
  }

  init(uPlot) {
    const width = Math.max(200, this.container.clientWidth);
    if (uPlot) {
      this.plot = new uPlot(
        {
          width,
          height: 240,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.15)] } },
          axes: [
            { stroke: '#6b7486', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e3e7ee' } },
            {
              stroke: '#6b7486',
              grid: { stroke: '#eef1f5' },
              ticks: { stroke: '#e3e7ee' },
              size: 56,
              values: (_u, vs) => vs.map((v) => fmtInt(v)),
            },
          ],
          series: [{}, { label: 'tasks/s', stroke: '#3b5bdb', width: 2, fill: 'rgba(59,91,219,0.12)', points: { show: false } }],
        },
        this.data,
        this.container,
      );
    } else {
      this.canvas = el('canvas', { style: 'width:100%;height:240px;display:block' });
      this.container.append(this.canvas);
    }
    this.draw();
  }

  /** series: [[unix seconds, tasks finished in that second], ...] */
  set(series) {
    this.data = [series.map((p) => p[0]), series.map((p) => p[1])];
    this.draw();
  }

  push(point) {
    if (!point) return;
    const xs = this.data[0];
    if (xs.length && xs[xs.length - 1] >= point[0]) return;
    xs.push(point[0]);
    this.data[1].push(point[1]);
    if (xs.length > 300) {
      xs.shift();
      this.data[1].shift();
    }
    this.draw();
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(200, this.container.clientWidth), height: 240 });
    else this.draw();
  }

  draw() {
    if (this.plot) {
      this.plot.setData(this.data);
      return;
    }
    if (!this.canvas || !this.canvas.clientWidth) return;
    const { ctx, w, h } = fitCanvas(this.canvas);
    const [xs, ys] = this.data;
    ctx.clearRect(0, 0, w, h);
    const left = 50;
    const bottom = h - 20;
    const max = niceMax(Math.max(4, ...ys) * 1.1);
    ctx.strokeStyle = '#eef1f5';
    ctx.fillStyle = '#6b7486';
    ctx.font = '11px system-ui, DejaVu Sans, sans-serif';
    for (let i = 0; i <= 4; i++) {
      const y = bottom - (i / 4) * (bottom - 8);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(w, y);
      ctx.stroke();
      ctx.fillText(fmtInt((max * i) / 4), 4, y + 4);
    }
    if (xs.length < 2) return;
    const x0 = xs[0];
    const x1 = xs[xs.length - 1];
    const X = (t) => left + ((t - x0) / Math.max(1, x1 - x0)) * (w - left - 4);
    const Y = (v) => bottom - (v / max) * (bottom - 8);
    ctx.beginPath();
    xs.forEach((t, i) => (i ? ctx.lineTo(X(t), Y(ys[i])) : ctx.moveTo(X(t), Y(ys[i]))));
    ctx.strokeStyle = '#3b5bdb';
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.lineTo(X(x1), bottom);
    ctx.lineTo(X(x0), bottom);
    ctx.fillStyle = 'rgba(59,91,219,0.12)';
    ctx.fill();
    ctx.lineWidth = 1;
  }
}
