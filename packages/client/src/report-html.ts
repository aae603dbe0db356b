import type { PerformanceReport } from './report.js';

/**
 * One self-contained HTML file (no network, no external script) that draws a report: the data
 * as JSON in the page, and a small script that renders the task stream and memory as SVG and the
 * tables. Opens offline in any browser.
 */
export function reportHtml(report: PerformanceReport): string {
  // "<" escaped so that no string in the data can close the script element.
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tessera performance report: ${escapeHtml(report.graph.id)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2430; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.muted { color: #6b7280; } table { border-collapse: collapse; margin: 4px 0; }
td, th { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; background: #fafafa; border: 1px solid #e5e7eb; } .legend span { display: inline-block; margin-right: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
</style>
</head>
<body>
<h1>Tessera performance report</h1>
<div id="summary" class="muted"></div>
<h2>Task stream</h2>
<div id="stream-note" class="muted"></div>
<svg id="stream" width="1100" height="60"></svg>
<div id="legend" class="legend"></div>
<h2>Memory held over time</h2>
<svg id="memory" width="1100" height="180"></svg>
<h2>Time per operation</h2><table id="ops"></table>
<h2>Task groups (most time first)</h2><table id="groups"></table>
<h2>Workers</h2><table id="workers"></table>
<h2>Transfers between workers</h2><div id="transfers"></div>
<h2>Spills to disk</h2><div id="spills"></div>
<div id="gpu"></div>
<div id="errors"></div>
<script type="application/json" id="report-data">${data}</script>
<script>
(() => {
  const r = JSON.parse(document.getElementById('report-data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const ms = (v) => (v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v.toFixed(1) + ' ms');
  const bytes = (n) => { const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + ' ' + u[i]; };
  const colour = (i) => 'hsl(' + ((i * 137.5) % 360) + ', 60%, 55%)';
  const svgEl = (name, attrs) => { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
  const table = (id, head, rows) => {
    const t = $(id);
    const tr = (cells, tag) => '<tr>' + cells.map((c, i) => '<' + tag + (i > 0 && typeof c === 'number' ? ' class="num"' : '') + '>' + c + '</' + tag + '>').join('') + '</tr>';
    t.innerHTML = tr(head, 'th') + rows.map((row) => tr(row, 'td')).join('');
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const wall = r.graph.stop - r.graph.start;
  $('summary').textContent = 'graph ' + r.graph.id + ' · ' + r.graph.state + ' · ' + r.graph.tasks + ' tasks in the graph, ' + r.stream.total + ' run · wall ' + ms(wall) + ' · ' + new Date(r.graph.start).toISOString() + (r.graph.error ? ' · ' + r.graph.error : '');

  // Task stream: a row per worker thread, a bar per task (an even sample past 20,000 tasks).
  const rows = [];
  const rowOf = new Map();
  for (const b of r.stream.bars) { const k = b[0] + '/' + b[1]; if (!rowOf.has(k)) { rowOf.set(k, rows.length); rows.push(k); } }
  rows.sort();
  rows.forEach((k, i) => rowOf.set(k, i));
  const H = 18, left = 140, W = 1100 - left - 10;
  const stream = $('stream');
  stream.setAttribute('height', String(Math.max(40, rows.length * H + 24)));
  const span = Math.max(1, ...r.stream.bars.map((b) => b[2] + b[3]));
  rows.forEach((k, i) => {
    const [w, t] = k.split('/');
    const label = svgEl('text', { x: 4, y: i * H + 13, 'font-size': 11 });
    label.textContent = r.workers[Number(w)].worker + ' #' + t;
    stream.appendChild(label);
  });
  for (const b of r.stream.bars) {
    const rect = svgEl('rect', { x: left + (b[2] / span) * W, y: rowOf.get(b[0] + '/' + b[1]) * H + 2, width: Math.max(0.5, (b[3] / span) * W), height: H - 4, fill: colour(b[4]), class: 'bar' });
    const tip = svgEl('title', {});
    tip.textContent = r.ops[b[4]].op + ' · ' + ms(b[3]);
    rect.appendChild(tip);
    stream.appendChild(rect);
  }
  const axis = svgEl('text', { x: left, y: rows.length * H + 16, 'font-size': 11, fill: '#6b7280' });
  axis.textContent = '0 … ' + ms(span);
  stream.appendChild(axis);
  $('stream-note').textContent = r.stream.sampled ? 'An even sample of ' + r.stream.bars.length + ' of the ' + r.stream.total + ' tasks (the tables count every task).' : '';
  $('legend').innerHTML = r.ops.map((o, i) => '<span><i style="background:' + colour(i) + '"></i>' + esc(o.op) + '</span>').join('');

  // Memory: a line per worker, chunk memory held; dashed, the bytes it spilled to disk.
  const mem = $('memory');
  const byWorker = new Map();
  for (const m of r.memory) { if (!byWorker.has(m.worker)) byWorker.set(m.worker, []); byWorker.get(m.worker).push(m); }
  const tMax = Math.max(1, ...r.memory.map((m) => m.t));
  const bMax = Math.max(1, ...r.memory.map((m) => Math.max(m.bytes, m.disk ?? 0)));
  let wi = 0;
  for (const [worker, pts] of byWorker) {
    const points = pts.map((p) => (left + (p.t / tMax) * W).toFixed(1) + ',' + (165 - (p.bytes / bMax) * 150).toFixed(1)).join(' ');
    mem.appendChild(svgEl('polyline', { points, fill: 'none', stroke: colour(wi), 'stroke-width': 1.5, class: 'memory-line' }));
    if (pts.some((p) => (p.disk ?? 0) > 0)) {
      const disk = pts.map((p) => (left + (p.t / tMax) * W).toFixed(1) + ',' + (165 - ((p.disk ?? 0) / bMax) * 150).toFixed(1)).join(' ');
      mem.appendChild(svgEl('polyline', { points: disk, fill: 'none', stroke: colour(wi), 'stroke-width': 1, 'stroke-dasharray': '4 3', class: 'disk-line' }));
    }
    const label = svgEl('text', { x: 4, y: 14 + wi * 14, 'font-size': 11, fill: colour(wi) });
    label.textContent = worker;
    mem.appendChild(label);
    wi++;
  }
  const top = svgEl('text', { x: left, y: 12, 'font-size': 11, fill: '#6b7280' });
  top.textContent = 'peak ' + bytes(bMax) + ' · ' + r.memory.length + ' samples';
  mem.appendChild(top);

  table('ops', ['op', 'tasks', 'time', 'share', 'bytes out'], r.ops.slice().sort((a, b) => b.ms - a.ms).map((o) => [esc(o.op), o.tasks, ms(o.ms), (100 * o.ms / Math.max(1e-9, r.ops.reduce((s, x) => s + x.ms, 0))).toFixed(1) + ' %', bytes(o.bytes)]));
  table('groups', ['group', 'op', 'tasks', 'time', 'bytes out'], r.groups.slice(0, 50).map((g) => [esc(g.group), esc(g.op), g.tasks, ms(g.ms), bytes(g.bytes)]));
  table('workers', ['worker', 'threads', 'tasks', 'busy', 'busy / (threads × wall)'], r.workers.map((w) => [esc(w.worker), w.threads, w.tasks, ms(w.busyMs), (100 * w.busyMs / Math.max(1e-9, w.threads * wall)).toFixed(1) + ' %']));
  $('transfers').innerHTML = r.transfers.tasks === 0 ? '<p class="muted">No task fetched inputs from another worker.</p>'
    : '<p>' + r.transfers.tasks + ' tasks fetched ' + bytes(r.transfers.bytes) + ' in ' + ms(r.transfers.ms) + '</p><table><tr><th>from</th><th class="num">tasks</th><th class="num">bytes</th></tr>' + r.transfers.from.map((f) => '<tr><td>' + esc(f.worker) + '</td><td class="num">' + f.tasks + '</td><td class="num">' + bytes(f.bytes) + '</td></tr>').join('') + '</table>';
  $('spills').innerHTML = r.spills.every((s) => s.writes === 0 && s.reads === 0) ? '<p class="muted">No worker spilled chunks to disk' + (r.spills.length ? '' : ' (the local engine does not spill)') + '.</p>'
    : '<table><tr><th>worker</th><th class="num">written</th><th class="num">bytes written</th><th class="num">read back</th><th class="num">bytes read</th><th class="num">most on disk</th></tr>' + r.spills.map((s) => '<tr><td>' + esc(s.worker) + '</td><td class="num">' + s.writes + '</td><td class="num">' + bytes(s.writeBytes) + '</td><td class="num">' + s.reads + '</td><td class="num">' + bytes(s.readBytes) + '</td><td class="num">' + bytes(s.peakDiskBytes) + '</td></tr>').join('') + '</table>';
  if (r.gpu) $('gpu').innerHTML = '<h2>GPU</h2><p>' + r.gpu.tasks + ' tasks on the GPU · ' + r.gpu.uploads + ' uploads · ' + r.gpu.readbacks + ' readbacks (' + bytes(r.gpu.readbackBytes) + ')</p>';
  if (r.errors.length) $('errors').innerHTML = '<h2>Errors</h2><table>' + r.errors.map((e) => '<tr><td>' + esc(e.key) + '</td><td>' + esc(e.op) + '</td><td>' + esc(e.message) + '</td></tr>').join('') + '</table>';
})();
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
