/**
 * Tasks whose output a result cache may keep: pure functions of their parameters and inputs.
 * Not the file readers (the file may change) and writers (their point is the side effect), user
 * kernels unless the user said they are pure (`mapBlocks(..., { pure: true })`), and ops cheaper
 * to redo than to read back (constant sources, views, data that travels in the graph). The client
 * marks such tasks (`TaskSpec.cache`) and the worker checks again before it reads or writes.
 */
const CHEAP = new Set(['full', 'arange', 'from-bytes', 'reshape']);

interface TaskLike {
  key: string;
  op: string;
  params: Record<string, unknown>;
  deps: readonly string[];
}

/** Whether the task's own output is a function of its params and inputs alone (persisted chunks: unknown). */
function pureOp(task: Pick<TaskLike, 'op' | 'params'>): boolean {
  if (task.op === 'map-blocks') return task.params['pure'] === true;
  return task.op !== 'persisted' && !task.op.startsWith('read-') && !task.op.startsWith('write-');
}

/** The op may be cached (the worker's check; whether its inputs are pure is the graph's, see cacheableKeys). */
export function isCacheable(task: Pick<TaskLike, 'op' | 'params'>): boolean {
  return pureOp(task) && !CHEAP.has(task.op);
}

/**
 * The tasks of a graph a cache may keep: a cacheable op all of whose inputs are pure all the way
 * up. A task downstream of a file read or an impure kernel is not, since its key would stay the
 * same when the file or the kernel's answer changes.
 */
export function cacheableKeys(tasks: readonly TaskLike[]): Set<string> {
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const pure = new Map<string, boolean>();
  // Iterative post-order: graphs are deep (chains of thousands).
  for (const root of tasks) {
    const stack: { t: TaskLike; next: number }[] = [{ t: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (pure.has(top.t.key)) {
        stack.pop();
        continue;
      }
      const dep = top.t.deps[top.next];
      if (dep !== undefined) {
        top.next++;
        const d = byKey.get(dep);
        // A dependency outside the graph (held from earlier): nothing says how it was made.
        if (!d) pure.set(dep, false);
        else if (!pure.has(dep)) stack.push({ t: d, next: 0 });
        continue;
      }
      pure.set(top.t.key, pureOp(top.t) && top.t.deps.every((k) => pure.get(k) === true));
      stack.pop();
    }
  }
  return new Set(tasks.filter((t) => pure.get(t.key) === true && isCacheable(t)).map((t) => t.key));
}
