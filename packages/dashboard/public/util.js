/* global document, Node */
// Small helpers shared by the dashboard's views: formatting, colours, DOM building.

export const STATE_COLOURS = {
  waiting: '#d5dbe4',
  queued: '#9db6e0',
  processing: '#f0ad3c',
  memory: '#2f9e72',
  released: '#93d3b4',
  erred: '#d9463e',
};

// A palette for ops (the task stream colours bars by op); red is kept for errors.
const PALETTE = [
  '#4c6ef5',
  '#15aabf',
  '#82c91e',
  '#be4bdb',
  '#fab005',
  '#12b886',
  '#7950f2',
  '#fd7e14',
  '#228be6',
  '#40c057',
  '#e64980',
  '#748ffc',
];
const opColours = new Map();

/** A stable colour per op name (first come, first served from the palette, then by hash). */
export function opColour(op) {
  let c = opColours.get(op);
  if (!c) {
    if (opColours.size < PALETTE.length) c = PALETTE[opColours.size];
    else {
      let h = 0;
      for (const ch of op) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      c = `hsl(${h % 360} 60% 52%)`;
    }
    opColours.set(op, c);
  }
  return c;
}

export function knownOps() {
  return [...opColours.keys()];
}

/** The op of a task key: `<op>-<token>:<index>` → `<op>`. */
export function opOfKey(key) {
  const colon = key.lastIndexOf(':');
  const group = colon < 0 ? key : key.slice(0, colon);
  const dash = group.lastIndexOf('-');
  return dash < 0 ? group : group.slice(0, dash);
}

export function fmtInt(n) {
  return n === undefined || n === null ? '–' : Math.round(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function fmtMs(ms) {
  if (ms === undefined || ms === null || !isFinite(ms)) return '–';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtTime(t) {
  if (!t) return '–';
  const d = new Date(t);
  const today = new Date();
  const time = d.toLocaleTimeString('en-GB', { hour12: false });
  return d.toDateString() === today.toDateString() ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

/** Build an element: el('td', {class: 'num'}, 'text', child...). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** Size a canvas to its CSS box at the device pixel ratio; returns its 2D context and CSS size. */
export function fitCanvas(canvas) {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(10, canvas.clientWidth);
  const h = Math.max(10, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

/** A coloured label: a state (`running`, `erred`, ...) or `cls` when given. */
export function badge(text, cls) {
  return el('span', { class: `badge ${cls ?? text}` }, text);
}

/** [0, 1, 2, 3, 8] as "0-3,8" (taskset's form), for a worker pinned with --cpus. */
export function fmtCpuList(cpus) {
  const out = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    out.push(j === i ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
