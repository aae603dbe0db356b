import type { TaskSpec } from '@tessera/protocol';

/**
 * A task list with integer ids: the graph passes look keys up once here and then work on
 * arrays (hashing hundreds of thousands of fresh key strings again in every pass is slow).
 */
export interface IndexedTasks {
  tasks: readonly TaskSpec[];
  index: ReadonlyMap<string, number>;
  /** Unique dependencies of each task (ids; keys outside the list are left out). */
  deps: number[][];
  /** Unique readers of each task. */
  readers: number[][];
}

export function indexTasks(tasks: readonly TaskSpec[]): IndexedTasks {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => index.set(t.key, i));
  const deps = tasks.map((t) => {
    const ds: number[] = [];
    for (const k of t.deps) {
      const d = index.get(k);
      if (d !== undefined && !ds.includes(d)) ds.push(d);
    }
    return ds;
  });
  const readers: number[][] = tasks.map(() => []);
  deps.forEach((ds, i) => ds.forEach((d) => readers[d]!.push(i)));
  return { tasks, index, deps, readers };
}

/** Dependencies before readers (Kahn's algorithm). */
export function topological({ deps, readers }: IndexedTasks): number[] {
  const waiting = deps.map((d) => d.length);
  const queue = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  for (let q = 0; q < queue.length; q++) for (const r of readers[queue[q]!]!) if (--waiting[r]! === 0) queue.push(r);
  return queue;
}
