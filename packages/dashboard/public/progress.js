// Pure helpers of the progress views: a graph's or group's bar of task states, percentages,
// groups in dependency order.
import { STATE_COLOURS, el } from './util.js';

/**
 * A bar of task states, each part as wide as its share of `total`.
 * @param {Partial<Record<string, number>>} counts
 * @param {number} total
 */
export function stateBar(counts, total) {
  const parts = [
    ['memory', (counts.memory ?? 0) + (counts.released ?? 0)],
    ['processing', counts.processing ?? 0],
    ['queued', counts.queued ?? 0],
    ['erred', counts.erred ?? 0],
  ];
  return el(
    'div',
    { class: 'bar' },
    parts.map(([s, n]) =>
      el('i', { style: `width:${total ? (100 * n) / total : 0}%;background:${STATE_COLOURS[s]}`, title: `${s}: ${n}` }),
    ),
  );
}

export function pct(done, total) {
  return total ? Math.floor((100 * done) / total) : 0;
}

/** The first characters of a group's token: tells apart two groups of one op. */
export function tokenOf(group) {
  const t = group.slice(group.lastIndexOf('-') + 1);
  return t.slice(0, 6);
}

/** Groups in dependency order (inputs first), ties by name. */
export function orderGroups(groups) {
  const byName = new Map(groups.map((g) => [g.group, g]));
  const depth = new Map();
  const depthOf = (g, seen = new Set()) => {
    if (depth.has(g.group)) return depth.get(g.group);
    if (seen.has(g.group)) return 0;
    seen.add(g.group);
    let d = 0;
    for (const dep of g.deps) {
      const o = byName.get(dep);
      if (o) d = Math.max(d, depthOf(o, seen) + 1);
    }
    depth.set(g.group, d);
    return d;
  };
  return groups.slice().sort((a, b) => depthOf(a) - depthOf(b) || a.group.localeCompare(b.group));
}
