import {
  type ElementwiseParams,
  type Graph,
  type InputView,
  type Instruction,
  type Operand,
  type ReducePartialParams,
  type TaskSpec,
  type TransposeParams,
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
  const isPlainElementwise = (t: TaskSpec): boolean => t.op === 'elementwise' && !(t.params as ElementwiseParams).reduce;
  const domainOf = (root: TaskSpec): number[] =>
    root.op === 'reduce-partial' ? tasks[ig.index.get(root.deps[0]!)!]!.shape : (root.params as ElementwiseParams).domain;

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
        const views = (reader.params as ElementwiseParams).inputs;
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

  const hasMembers = new Uint8Array(tasks.length);
  chainOf.forEach((c, i) => c >= 0 && c !== i && (hasMembers[c] = 1));
  const out: TaskSpec[] = [];
  tasks.forEach((t, i) => {
    const c = chainOf[i]!;
    if (c >= 0 && c !== i) return; // folded into its chain's root
    out.push(hasMembers[i] ? compileChain(i, ig, chainOf) : t);
  });
  return { tasks: out, outputs: graph.outputs };
}

/** One elementwise task holding the whole chain ending at `root`. */
function compileChain(rootId: number, ig: IndexedTasks, chainOf: Int32Array): TaskSpec {
  const root = ig.tasks[rootId]!;
  const taskOf = (key: string): TaskSpec => ig.tasks[ig.index.get(key)!]!;
  const program: Instruction[] = [];
  const inputs: { key: string; perm: number[] | undefined }[] = [];
  const resultOf = new Map<string, number>();

  const leaf = (key: string, perm: number[] | undefined): Operand => {
    const same = (p: number[] | undefined): boolean => (p ?? []).join() === (perm ?? []).join();
    let i = inputs.findIndex((x) => x.key === key && same(x.perm));
    if (i < 0) i = inputs.push({ key, perm }) - 1;
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
      const axes = (dep.params as TransposeParams).axes;
      return leaf(dep.deps[0]!, view.perm ? view.perm.map((p) => axes[p]!) : axes);
    }
    return { ref: emit(dep) };
  };

  /** Append a member's instructions (after those of the members it reads); its result's index. */
  const emit = (t: TaskSpec): number => {
    const known = resultOf.get(t.key);
    if (known !== undefined) return known;
    const p = t.params as ElementwiseParams;
    const local: number[] = [];
    for (const ins of p.program) {
      const args = ins.args.map((a): Operand => ('input' in a ? resolve(t, a.input, p.inputs[a.input] ?? {}) : 'ref' in a ? { ref: local[a.ref]! } : a));
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
    emit(chainTop);
    domain = chainTop.shape;
    reduce = root.params as ReducePartialParams;
  } else {
    emit(root);
    domain = (root.params as ElementwiseParams).domain;
  }
  const params: ElementwiseParams = { program, inputs: inputs.map((x) => (x.perm ? { perm: x.perm } : {})), domain };
  if (reduce) params.reduce = reduce;
  return { ...root, op: 'elementwise', params, deps: inputs.map((x) => x.key) };
}
