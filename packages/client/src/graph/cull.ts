import type { Graph } from '@tessera/protocol';

/** Keep only the tasks the outputs depend on (transitively). */
export function cull(graph: Graph): Graph {
  const byKey = new Map(graph.tasks.map((t) => [t.key, t]));
  const keep = new Set<string>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const k = stack.pop()!;
    if (keep.has(k)) continue;
    keep.add(k);
    const t = byKey.get(k);
    if (t) stack.push(...t.deps);
  }
  return { tasks: graph.tasks.filter((t) => keep.has(t.key)), outputs: graph.outputs };
}
