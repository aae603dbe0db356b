import type { Graph } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from '../index.js';
import { graphOf } from '../../test-util/graphs.js';
import { order } from './order.js';

/**
 * Run tasks in the given order and count held chunks: a chunk is held from when its task ran
 * until its last reader ran (outputs until the end). Returns the peak, overall and of `group`.
 */
function peakHeld(g: Graph, sequence: readonly string[], group?: string): { all: number; group: number } {
  const readers = new Map<string, number>();
  for (const t of g.tasks) for (const d of new Set(t.deps)) readers.set(d, (readers.get(d) ?? 0) + 1);
  const byKey = new Map(g.tasks.map((t) => [t.key, t]));
  const held = new Set<string>();
  const ran = new Set<string>();
  let all = 0;
  let grp = 0;
  for (const k of sequence) {
    const t = byKey.get(k)!;
    for (const d of t.deps) expect(ran.has(d)).toBe(true);
    ran.add(k);
    held.add(k);
    all = Math.max(all, held.size);
    if (group) grp = Math.max(grp, [...held].filter((h) => h.startsWith(group)).length);
    for (const d of new Set(t.deps)) {
      const left = readers.get(d)! - 1;
      readers.set(d, left);
      if (left === 0 && !g.outputs.includes(d)) held.delete(d);
    }
  }
  return { all, group: grp };
}

const byPriority = (g: Graph) => [...g.tasks].sort((a, b) => a.priority - b.priority).map((t) => t.key);

describe('order', () => {
  it('priorities are 0..n-1 and a topological order', () => {
    const x = ta.random.uniform([40, 40], { chunks: 10, seed: 1 });
    const g = graphOf([x.matmul(x.T).sum(), x.mean({ axis: 0 })]);
    expect(g.tasks.map((t) => t.priority).sort((a, b) => a - b)).toEqual(g.tasks.map((_, i) => i));
    peakHeld(g, byPriority(g)); // asserts every dependency ran first
  });

  it('sum(x + x.T) on 8x8 blocks frees the blocks of x progressively', () => {
    // Data blocks (a random x would be regenerated inside the sum's tasks and never held).
    const x = ta.fromArray(new Float64Array(6400), { shape: [80, 80], chunks: 10 });
    const g = graphOf(x.add(x.T).sum());
    const good = peakHeld(g, byPriority(g), x.name);
    expect(good.group).toBeLessThanOrEqual(4);
    expect(good.all).toBeLessThan(32); // < 50% of x's 64 blocks, counting partials too
    // The measure can fail: making every block of x first holds them all.
    const naive = [...g.tasks].sort((a, b) => (a.deps.length === 0 ? 0 : 1) - (b.deps.length === 0 ? 0 : 1) || a.priority - b.priority);
    expect(peakHeld(g, naive.map((t) => t.key), x.name).group).toBe(64);
  });

  it('a tree reduction finishes one group before starting the next', () => {
    const x = ta.random.uniform([160], { chunks: 10, seed: 1 }); // 16 blocks
    const g = graphOf(x.exp().mean());
    expect(peakHeld(g, byPriority(g)).all).toBeLessThanOrEqual(8);
  });

  it('ordering is deterministic and independent of the input task order', () => {
    const x = ta.random.uniform([40, 40], { chunks: 10, seed: 1 });
    const g = graphOf(x.add(x.T).std({ axis: 0 }));
    const shuffled = order({ tasks: [...g.tasks].reverse(), outputs: g.outputs });
    expect(byPriority(shuffled)).toEqual(byPriority(g));
  });
});
