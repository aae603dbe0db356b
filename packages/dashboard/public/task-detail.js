/* global document, fetch */
// The detail panel: one task (from the dashboard server, else from its bar in the task stream),
// or a graph's error.
import { badge, el, fmtBytes, fmtMs, fmtTime, opOfKey } from './util.js';

/** @param {string} id */
const $ = (id) => document.getElementById(id);

function kv(pairs) {
  return el(
    'dl',
    { class: 'kv' },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
  );
}

function errorBlock(error) {
  if (!error) return [];
  return [
    el('h3', { style: 'font-size:13px;margin:16px 0 6px;color:#b3261e' }, 'Error'),
    kv([
      ['name', error.name],
      ['code', error.code],
      ['message', el('span', { 'data-testid': 'task-error' }, error.message)],
      ['task', error.key],
      ['op', error.op],
      ['cause', error.remote ? `${error.remote.name}: ${error.remote.message}` : undefined],
    ]),
    error.remote?.stack ? el('pre', { class: 'stack' }, error.remote.stack) : '',
  ];
}

export function showError(graph, error) {
  $('detail-title').textContent = `Graph ${graph}`;
  $('detail-body').replaceChildren(...errorBlock(error));
  $('detail').hidden = false;
}

export async function showTask(graph, key, bar) {
  let t;
  try {
    const r = await fetch(`/api/graph/${encodeURIComponent(graph)}/task/${encodeURIComponent(key)}`);
    if (r.ok) t = await r.json();
  } catch {
    // Fall back to what the bar says.
  }
  if (!t && bar)
    t = {
      graph,
      key,
      op: opOfKey(key),
      worker: bar[2],
      thread: bar[3],
      start: bar[4],
      stop: bar[5],
      state: bar[6] === 'e' ? 'erred' : 'memory',
      ...(bar.length > 7 ? { transfer: { start: bar[7], stop: bar[8], nbytes: bar[9], from: bar[10].split(',') } } : {}),
    };
  if (!t) t = { graph, key, op: opOfKey(key) };
  $('detail-title').textContent = 'Task';
  $('detail-body').replaceChildren(
    kv([
      ['key', el('span', { class: 'mono', 'data-testid': 'task-key' }, t.key)],
      ['op', t.op],
      ['graph', el('span', { class: 'mono' }, graph)],
      [
        'state',
        t.state
          ? badge(t.state, t.state === 'erred' ? 'erred' : t.state === 'memory' || t.state === 'released' ? 'finished' : 'running')
          : undefined,
      ],
      ['worker', t.worker !== undefined ? `${t.worker}${t.thread !== undefined ? ` · thread ${t.thread}` : ''}` : undefined],
      ['started', t.start ? `${fmtTime(t.start)}.${String(Math.floor(t.start % 1000)).padStart(3, '0')}` : undefined],
      ['duration', t.start && t.stop ? fmtMs(t.stop - t.start) : undefined],
      ['bytes', t.nbytes !== undefined ? fmtBytes(t.nbytes) : undefined],
      [
        'inputs fetched',
        t.transfer
          ? `${fmtBytes(t.transfer.nbytes)} from ${t.transfer.from.join(', ')} in ${fmtMs(t.transfer.stop - t.transfer.start)}`
          : undefined,
      ],
    ]),
    ...errorBlock(t.error),
  );
  $('detail').hidden = false;
}

$('detail-close').addEventListener('click', () => ($('detail').hidden = true));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') $('detail').hidden = true;
});
