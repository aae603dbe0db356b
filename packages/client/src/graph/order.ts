import { Heap, type Graph, type TaskSpec } from '@tessera/protocol';
import { indexTasks, topological } from './indexed.js';

/**
 * Static priorities, "small goals, big steps" in the spirit of dask.order.
 *
 * 1. A post-order depth-first walk from the outputs gives every task a rank; at each task the
 *    dependencies with the smallest subtrees are walked first, so cheap goals finish early.
 * 2. The order is then a simulated run: among the tasks whose inputs are all computed, the one
 *    that lets the most held chunks go (it is their last reader) runs first, so memory is handed
 *    back as soon as it can be; otherwise the lowest rank runs (continue the current goal).
 *
 * For sum(x + x.T) this computes x(i, j) and x(j, i), then both partials that read them, and the
 * x blocks are released pairwise instead of staying held until the far side of the grid.
 * Returns the graph with `priority` = position (0 runs first) and tasks sorted by it.
 */
export function order(graph: Graph): Graph {
  const ig = indexTasks(graph.tasks);
  const { tasks, index, deps, readers } = ig;
  const n = tasks.length;

  // Subtree sizes (shared subtrees counted per path: an estimate, capped to stay finite).
  const topo = topological(ig);
  const cost = new Float64Array(n);
  for (const i of topo) cost[i] = Math.min(1e15, 1 + deps[i]!.reduce((s, d) => s + cost[d]!, 0));

  // 1. Depth-first ranks from the outputs (then from any other sink), cheapest dependencies first.
  const rank = new Int32Array(n).fill(-1);
  let next = 0;
  // Ties are broken by key, so the order does not depend on how the task list was laid out.
  const byKey = (a: number, b: number): number => (tasks[a]!.key < tasks[b]!.key ? -1 : tasks[a]!.key > tasks[b]!.key ? 1 : 0);
  const sinks = readers.flatMap((r, i) => (r.length === 0 ? [i] : [])).sort(byKey);
  const roots = [...graph.outputs.map((k) => index.get(k)!), ...sinks];
  const sorted = deps.map((ds) => (ds.length > 1 ? [...ds].sort((a, b) => cost[a]! - cost[b]! || byKey(a, b)) : ds));
  // One flag array for every walk (a walk leaves it clear): one per root made a graph of n
  // independent tasks cost n² bytes.
  const onStack = new Uint8Array(n);
  for (const root of roots) {
    if (root === undefined || rank[root] !== -1) continue;
    const stack: [number, number][] = [[root, 0]];
    onStack[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const ds = sorted[top[0]]!;
      if (top[1] < ds.length) {
        const d = ds[top[1]++]!;
        if (rank[d] === -1 && !onStack[d]) {
          onStack[d] = 1;
          stack.push([d, 0]);
        }
      } else {
        stack.pop();
        onStack[top[0]] = 0;
        rank[top[0]] = next++;
      }
    }
  }

  // 2. Simulated run.
  const waiting = deps.map((ds) => ds.length);
  const unread = readers.map((r) => r.length);
  // frees[i]: inputs of i that i is the last unrun reader of.
  const frees = new Int32Array(n);
  deps.forEach((ds, i) => ds.forEach((d) => unread[d] === 1 && frees[i]!++));
  const done = new Uint8Array(n);
  const byRank = new Heap<number>((a, b) => rank[a]! < rank[b]!);
  const byFrees = new Heap<[number, number]>((a, b) => a[1] > b[1] || (a[1] === b[1] && rank[a[0]]! < rank[b[0]]!));
  const makeReady = (i: number): void => {
    byRank.push(i);
    if (frees[i]! > 0) byFrees.push([i, frees[i]!]);
  };
  tasks.forEach((_, i) => waiting[i] === 0 && makeReady(i));
  const out: TaskSpec[] = [];
  while (out.length < n) {
    let pick: number | undefined;
    while (byFrees.size && pick === undefined) {
      const [i, f] = byFrees.pop()!;
      if (!done[i] && frees[i] === f) pick = i;
    }
    while (pick === undefined && byRank.size) {
      const i = byRank.pop()!;
      if (!done[i]) pick = i;
    }
    if (pick === undefined) throw new Error('order: the graph has a cycle');
    done[pick] = 1;
    out.push({ ...tasks[pick]!, priority: out.length });
    for (const d of deps[pick]!) {
      if (--unread[d]! === 1) {
        // The remaining reader of d now frees it when it runs.
        const last = readers[d]!.find((r) => !done[r])!;
        frees[last]!++;
        if (waiting[last] === 0) byFrees.push([last, frees[last]!]);
      }
    }
    for (const r of readers[pick]!) if (--waiting[r]! === 0) makeReady(r);
  }
  return { tasks: out, outputs: graph.outputs };
}
