import {
  paramsOf,
  type ElementwiseParams,
  type Graph,
  type InputView,
  type Instruction,
  type Operand,
  type ReducePartialParams,
  type TaskSpec,
  type SourceSpec,
  SOURCE_OPS,
  shapeEquals,
} from '@tessera/protocol';
import { type IndexedTasks, indexTasks, topological } from './indexed.js';

/**
 * Blockwise fusion. Chains of `elementwise` tasks over the same block become one task whose
 * program holds every instruction of the chain, so `sin(x)**2 + cos(x)**2` makes one task per
 * block instead of five. Also folded into a chain:
 *  - a `transpose` read only by the chain: it becomes the input view `perm` (x + x.T reads x's
 *    (j, i) block transposed, no transpose task);
 *  - the chain under a `reduce-partial` that only the partial reads: it becomes `params.reduce`,
 *    so no intermediate block is ever materialised.
 *  - a creation task (`full`, `arange`, `random`) whose every reader is a chain: each chain
 *    regenerates it as an input `source`, so it is never held in memory (x in `x + x.T` is made
 *    twice, in two tasks, instead of being kept until both have run — what Dask does too).
 * A task joins the chain of its readers only if every reader is in that chain and it is not an
 * output, so an intermediate used elsewhere stays a task. The fused task keeps the key of the
 * chain's last task.
 */
export function fuse(graph: Graph): Graph {
  const ig = indexTasks(graph.tasks);
  const { tasks, readers } = ig;
  const isOutput = new Set(graph.outputs.map((k) => ig.index.get(k)));

  /** Task id -> id of the root of the chain it belongs to (roots map to themselves), or -1. */
  const chainOf = new Int32Array(tasks.length).fill(-1);
  const isPlainElementwise = (t: TaskSpec): boolean => t.op === 'elementwise' && !paramsOf(t, 'elementwise').reduce;
  const domainOf = (root: TaskSpec): number[] =>
    root.op === 'reduce-partial' ? tasks[ig.index.get(root.deps[0]!)!]!.shape : paramsOf(root, 'elementwise').domain;

  /** The one chain every reader of task i belongs to, if there is one and i may join it. */
  const joinableChain = (i: number): number => {
    const t = tasks[i]!;
    const rs = readers[i]!;
    if (isOutput.has(i) || rs.length === 0) return -1;
    let chain = -1;
    for (const r of rs) {
      const c = chainOf[r]!;
      if (c < 0 || (chain >= 0 && c !== chain)) return -1;
      chain = c;
      const reader = tasks[r]!;
      // Only elementwise readers can take a transposed view; a reduce root reads its chain directly.
      if (t.op === 'transpose' && reader.op !== 'elementwise') return -1;
      if (reader.op === 'transpose') return -1;
      if (reader.op === 'elementwise' && t.op === 'elementwise') {
        const views = paramsOf(reader, 'elementwise').inputs;
        if (reader.deps.some((d, k) => d === t.key && views[k]?.perm)) return -1;
      }
    }
    return chain;
  };

  // Readers first, so a task's readers have their chains when it is considered.
  for (const i of topological(ig).reverse()) {
    const t = tasks[i]!;
    if (isPlainElementwise(t) || t.op === 'transpose') {
      const chain = joinableChain(i);
      if (chain >= 0 && (t.op === 'transpose' || shapeEquals(t.shape, domainOf(tasks[chain]!)))) chainOf[i] = chain;
      else if (t.op !== 'transpose') chainOf[i] = i;
    } else if (t.op === 'reduce-partial') {
      chainOf[i] = i;
    }
  }

  const inlined = new Uint8Array(tasks.length);
  tasks.forEach((t, i) => {
    const rs = readers[i]!;
    if ((SOURCE_OPS as readonly string[]).includes(t.op) && !isOutput.has(i) && rs.length > 0 && rs.every((r) => chainOf[r]! >= 0))
      inlined[i] = 1;
  });
  const rewrite = new Uint8Array(tasks.length);
  chainOf.forEach((c, i) => {
    if (c < 0) return;
    if (c !== i) rewrite[c] = 1;
    for (const d of tasks[i]!.deps) if (inlined[ig.index.get(d)!]) rewrite[c] = 1;
  });
  const out: TaskSpec[] = [];
  tasks.forEach((t, i) => {
    const c = chainOf[i]!;
    if ((c >= 0 && c !== i) || inlined[i]) return; // folded into a chain
    out.push(rewrite[i] ? compileChain(i, ig, chainOf, inlined) : t);
  });
  return { tasks: out, outputs: graph.outputs };
}

/** One elementwise task holding the whole chain ending at `root`. */
function compileChain(rootId: number, ig: IndexedTasks, chainOf: Int32Array, inlined: Uint8Array): TaskSpec {
  const root = ig.tasks[rootId]!;
  const taskOf = (key: string): TaskSpec => ig.tasks[ig.index.get(key)!]!;
  const program: Instruction[] = [];
  const inputs: { key: string; perm: number[] | undefined; source: SourceSpec | undefined }[] = [];
  const resultOf = new Map<string, number>();

  const leaf = (key: string, perm: number[] | undefined): Operand => {
    const same = (p: number[] | undefined): boolean => (p ?? []).join() === (perm ?? []).join();
    let i = inputs.findIndex((x) => x.key === key && same(x.perm));
    if (i < 0) {
      const id = ig.index.get(key);
      const t = id === undefined ? undefined : ig.tasks[id]!;
      const source = t && inlined[id!] ? ({ op: t.op, params: t.params, shape: t.shape, dtype: t.dtype } as SourceSpec) : undefined;
      i = inputs.push({ key, perm, source }) - 1;
    }
    return { input: i };
  };

  /** The operand that reads input `i` of `reader` through its view. */
  const resolve = (reader: TaskSpec, i: number, view: InputView): Operand => {
    const key = reader.deps[i]!;
    const id = ig.index.get(key);
    if (id === undefined || id === rootId || chainOf[id] !== rootId) return leaf(key, view.perm);
    const dep = ig.tasks[id]!;
    if (dep.op === 'transpose') {
      // Reading transpose(X, axes) through perm p is reading X through axes[p].
      const axes = paramsOf(dep, 'transpose').axes;
      return leaf(dep.deps[0]!, view.perm ? view.perm.map((p) => axes[p]!) : axes);
    }
    return { ref: emit(dep) };
  };

  /** Append a member's instructions (after those of the members it reads); its result's index. */
  const emit = (t: TaskSpec): number => {
    const known = resultOf.get(t.key);
    if (known !== undefined) return known;
    const p = paramsOf(t, 'elementwise');
    const local: number[] = [];
    for (const ins of p.program) {
      const args = ins.args.map((a): Operand =>
        'input' in a ? resolve(t, a.input, p.inputs[a.input] ?? {}) : 'ref' in a ? { ref: local[a.ref]! } : a,
      );
      local.push(program.push({ op: ins.op, args, dtype: ins.dtype }) - 1);
    }
    const r = local[local.length - 1]!;
    resultOf.set(t.key, r);
    return r;
  };

  let domain: number[];
  let reduce: ReducePartialParams | undefined;
  if (root.op === 'reduce-partial') {
    const chainTop = taskOf(root.deps[0]!);
    const topId = ig.index.get(chainTop.key)!;
    if (chainOf[topId] === rootId) emit(chainTop);
    // The partial reads an inlined source directly: the program is the identity on it.
    else program.push({ op: 'astype', args: [leaf(chainTop.key, undefined)], dtype: chainTop.dtype });
    domain = chainTop.shape;
    reduce = paramsOf(root, 'reduce-partial');
  } else {
    emit(root);
    domain = paramsOf(root, 'elementwise').domain;
  }
  const views = inputs.map((x): InputView => {
    const v: InputView = {};
    if (x.perm) v.perm = x.perm;
    if (x.source) v.source = x.source;
    return v;
  });
  const params: ElementwiseParams = { program, inputs: views, domain };
  if (reduce) params.reduce = reduce;
  return { ...root, op: 'elementwise', params, deps: inputs.filter((x) => !x.source).map((x) => x.key) };
}
