import { packTaskSpec, type Graph, type GraphKeyPart } from '@tessera/protocol';

/**
 * How one graph lies in Redis hashes (see GRAPH_KEY_PARTS for each hash's meaning), computed in
 * JS at submission so the scripts only ever touch the few fields a transition changes.
 */
export interface GraphLayout {
  /** Field/value pairs per hash, flattened ([field, value, field, value, ...]) for HSET. */
  hashes: Partial<Record<Exclude<GraphKeyPart, 'meta'>, (string | Buffer)[]>>;
  /** Tasks with no dependencies: ready at once. */
  ready: string[];
}

/** Lists in hash values are newline-separated: task keys cannot hold a newline (KEY_PATTERN). */
export const LIST_SEPARATOR = '\n';

export function layOutGraph(graph: Graph): GraphLayout {
  const spec: (string | Buffer)[] = [];
  const state: string[] = [];
  const pending: string[] = [];
  const deps: string[] = [];
  const dependents = new Map<string, string[]>();
  const waiters = new Map<string, number>();
  const ready: string[] = [];
  for (const t of graph.tasks) {
    if (t.key.includes(LIST_SEPARATOR)) throw new Error(`task key ${JSON.stringify(t.key)} holds a newline`);
    const packed = packTaskSpec(t);
    spec.push(t.key, Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength));
    state.push(t.key, 'waiting');
    const unique = [...new Set(t.deps)];
    if (unique.length === 0) {
      ready.push(t.key);
      continue;
    }
    pending.push(t.key, String(unique.length));
    deps.push(t.key, unique.join(LIST_SEPARATOR));
    for (const d of unique) {
      let list = dependents.get(d);
      if (!list) dependents.set(d, (list = []));
      list.push(t.key);
      waiters.set(d, (waiters.get(d) ?? 0) + 1);
    }
  }
  for (const o of new Set(graph.outputs)) waiters.set(o, (waiters.get(o) ?? 0) + 1);
  const flatten = <V>(m: Map<string, V>, f: (v: V) => string): string[] => {
    const out: string[] = [];
    for (const [k, v] of m) out.push(k, f(v));
    return out;
  };
  return {
    hashes: {
      spec,
      state,
      pending,
      waiters: flatten(waiters, String),
      deps,
      dependents: flatten(dependents, (l) => l.join(LIST_SEPARATOR)),
    },
    ready,
  };
}
