/**
 * A slow, obviously-correct interpreter of low-level graphs for the client's unit tests: it checks
 * that the graphs the client builds mean what the array code says, without the engine. It runs
 * tasks in priority order, so it also checks that the order is a topological one.
 */
import {
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type Graph,
  type Instruction,
  type ReduceMergeParams,
  type ReducePartialSpec,
  castScalar,
  partialComponents,
  sizeOf,
  stridesOf,
  typedArrayCtor,
  viewOf,
} from '@tessera/protocol';

export type TestKernel = (inputs: Chunk[], params: Record<string, unknown>, blockIndex: number[]) => Chunk;

function make(dtype: Dtype, shape: readonly number[], f: (i: number) => number): Chunk {
  const data = new (typedArrayCtor(dtype))(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = castScalar(dtype, f(i));
  return { dtype, shape: [...shape], data };
}

function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    out[ax] = i % shape[ax]!;
    i = Math.floor(i / shape[ax]!);
  }
  return out;
}

/** A deterministic stand-in for the engine's generator: depends on seed and global index only. */
export function testRandom(seed: number, g: number): number {
  let h = (seed ^ Math.imul(g + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

const UNARY: Record<string, (a: number) => number> = {
  neg: (a) => -a,
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  astype: (a) => a,
};
const BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
};

function evalProgram(program: Instruction[], inputs: Chunk[], views: ElementwiseParams['inputs'], domain: number[]): Float64Array {
  const n = sizeOf(domain);
  const reads = inputs.map((c, k) => {
    const perm = views[k]?.perm ?? c.shape.map((_, i) => i);
    const st = stridesOf(c.shape);
    const shape = perm.map((p) => c.shape[p]!);
    const strides = perm.map((p) => st[p]!);
    const off = domain.length - shape.length;
    return (idx: number[]) => {
      let o = 0;
      shape.forEach((d, i) => (o += (d === 1 ? 0 : idx[off + i]!) * strides[i]!));
      return c.data[o]!;
    };
  });
  const out = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    const idx = unravel(e, domain);
    const vals: number[] = [];
    for (const ins of program) {
      const a = ins.args.map((o) => ('input' in o ? reads[o.input]!(idx) : 'ref' in o ? vals[o.ref]! : castScalar(o.dtype, o.const)));
      const v = ins.op === 'where' ? (a[0] ? a[1]! : a[2]!) : a.length === 1 ? UNARY[ins.op]!(a[0]!) : BINARY[ins.op]!(a[0]!, a[1]!);
      vals.push(castScalar(ins.dtype, v));
    }
    out[e] = vals[vals.length - 1]!;
  }
  return out;
}

function partialOf(spec: ReducePartialSpec, values: Float64Array, domain: number[]): Chunk {
  const C = partialComponents(spec.kind);
  const kept = domain.map((d, ax) => (spec.axes.includes(ax) ? 1 : d));
  const slots = sizeOf(kept);
  const init: Record<string, number[]> = { sum: [0], prod: [1], min: [Infinity], max: [-Infinity], mean: [0, 0], var: [0, 0, 0], std: [0, 0, 0], argmin: [Infinity, -1], argmax: [-Infinity, -1] };
  const d = new Float64Array(slots * C);
  for (let s = 0; s < slots; s++) d.set(init[spec.kind]!, s * C);
  const ks = stridesOf(kept);
  const fs = spec.fullShape ? stridesOf(spec.fullShape) : [];
  for (let e = 0; e < values.length; e++) {
    const idx = unravel(e, domain);
    const slot = idx.reduce((acc, v, ax) => acc + (spec.axes.includes(ax) ? 0 : v * ks[ax]!), 0) * C;
    const g = !spec.offset
      ? 0
      : spec.axes.length === domain.length
        ? idx.reduce((acc, v, ax) => acc + (v + spec.offset![ax]!) * fs[ax]!, 0)
        : idx[spec.axes[0]!]! + spec.offset[spec.axes[0]!]!;
    mergeInto(spec.kind, d, slot, singleton(spec.kind, values[e]!, g));
  }
  return { dtype: 'float64', shape: [...kept, C], data: d };
}

function singleton(kind: string, v: number, g: number): number[] {
  if (kind === 'mean') return [1, v];
  if (kind === 'var' || kind === 'std') return [1, v, 0];
  if (kind === 'argmin' || kind === 'argmax') return [v, g];
  return [v];
}

function mergeInto(kind: string, d: Float64Array, p: number, b: number[]): void {
  switch (kind) {
    case 'sum': d[p] = d[p]! + b[0]!; return;
    case 'prod': d[p] = d[p]! * b[0]!; return;
    case 'min': if (b[0]! < d[p]! || Number.isNaN(b[0]!)) d[p] = Number.isNaN(d[p]!) ? d[p]! : b[0]!; return;
    case 'max': if (b[0]! > d[p]! || Number.isNaN(b[0]!)) d[p] = Number.isNaN(d[p]!) ? d[p]! : b[0]!; return;
    case 'mean': d[p] = d[p]! + b[0]!; d[p + 1] = d[p + 1]! + b[1]!; return;
    case 'var':
    case 'std': {
      const [nb, mb, m2b] = b as [number, number, number];
      const na = d[p]!;
      if (nb === 0) return;
      if (na === 0) { d[p] = nb; d[p + 1] = mb; d[p + 2] = m2b; return; }
      const n = na + nb;
      const delta = mb - d[p + 1]!;
      d[p] = n; d[p + 1] = d[p + 1]! + (delta * nb) / n; d[p + 2] = d[p + 2]! + m2b + (delta * delta * na * nb) / n;
      return;
    }
    default: {
      const [v, g] = b as [number, number];
      if (g < 0) return;
      const cv = d[p]!, cg = d[p + 1]!;
      const better = kind === 'argmin' ? v < cv : v > cv;
      if (cg < 0 || better || (v === cv && g < cg)) { d[p] = v; d[p + 1] = g; }
    }
  }
}

function merge(p: ReduceMergeParams, deps: Chunk[], outShape: number[], outDtype: Dtype): Chunk {
  const first = deps[0]!;
  const C = first.shape[first.shape.length - 1]!;
  const acc = new Float64Array(first.data.length);
  acc.set(first.data);
  for (const dep of deps.slice(1)) for (let s = 0; s < acc.length; s += C) mergeInto(p.kind, acc, s, [...dep.data.subarray(s, s + C)]);
  if (!p.final) return { dtype: 'float64', shape: [...first.shape], data: acc };
  const ddof = p.final.ddof;
  return make(outDtype, outShape, (i) => {
    const s = i * C;
    switch (p.kind) {
      case 'mean': return acc[s + 1]! / acc[s]!;
      case 'var': return acc[s + 2]! / (acc[s]! - ddof);
      case 'std': return Math.sqrt(acc[s + 2]! / (acc[s]! - ddof));
      case 'argmin': case 'argmax': return acc[s + 1]!;
      default: return acc[s]!;
    }
  });
}

/** Run every task in priority order; returns all chunks by key. */
export function interpret(g: Graph, kernels: Record<string, TestKernel> = {}, persisted: ReadonlyMap<string, Chunk> = new Map()): Map<string, Chunk> {
  const done = new Map<string, Chunk>();
  const tasks = [...g.tasks].sort((a, b) => a.priority - b.priority);
  for (const t of tasks) {
    const ins = t.deps.map((d) => {
      const c = done.get(d);
      if (!c) throw new Error(`${t.key} runs before its input ${d}`);
      return c;
    });
    const p = t.params as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let out: Chunk;
    switch (t.op) {
      case 'persisted': {
        const c = persisted.get(t.key);
        if (!c) throw new Error(`${t.key} is not persisted`);
        out = c;
        break;
      }
      case 'full': out = make(t.dtype, t.shape, () => p.value); break;
      case 'arange': out = make(t.dtype, t.shape, (i) => p.start + i * p.step); break;
      case 'random': {
        const fs = stridesOf(p.fullShape);
        out = make(t.dtype, t.shape, (i) => {
          const gidx = unravel(i, t.shape).reduce((acc, v, ax) => acc + (v + p.offset[ax]) * fs[ax]!, 0);
          return p.a + (p.b - p.a) * testRandom(p.seed, gidx);
        });
        break;
      }
      case 'from-bytes': {
        const b = (p.bytes as Uint8Array).slice();
        out = { dtype: t.dtype, shape: t.shape, data: viewOf(t.dtype, b.buffer, 0, sizeOf(t.shape)) };
        break;
      }
      case 'elementwise': {
        const e = p as ElementwiseParams;
        const vals = evalProgram(e.program, ins, e.inputs, e.domain);
        out = e.reduce ? partialOf(e.reduce, vals, e.domain) : make(t.dtype, t.shape, (i) => vals[i]!);
        break;
      }
      case 'reduce-partial': out = partialOf(p as ReducePartialSpec, Float64Array.from(ins[0]!.data), ins[0]!.shape); break;
      case 'reduce-merge': out = merge(p as ReduceMergeParams, ins, t.shape, t.dtype); break;
      case 'transpose': {
        const src = ins[0]!;
        const st = stridesOf(src.shape);
        out = make(t.dtype, t.shape, (i) => src.data[unravel(i, t.shape).reduce((acc, v, k) => acc + v * st[p.axes[k]]!, 0)]!);
        break;
      }
      case 'reshape': out = make(t.dtype, t.shape, (i) => ins[0]!.data[i]!); break;
      case 'assemble': {
        out = make(t.dtype, t.shape, () => 0);
        const os = stridesOf(t.shape);
        for (const pc of p.pieces as { input: number; src: { start: number; step: number; count: number }[]; dst: number[] }[]) {
          const src = ins[pc.input]!;
          const ss = stridesOf(src.shape);
          const counts = pc.src.map((s) => s.count);
          for (let e = 0; e < sizeOf(counts); e++) {
            const idx = unravel(e, counts);
            const si = idx.reduce((acc, v, ax) => acc + (pc.src[ax]!.start + v * pc.src[ax]!.step) * ss[ax]!, 0);
            const di = idx.reduce((acc, v, ax) => acc + (pc.dst[ax]! + v) * os[ax]!, 0);
            out.data[di] = src.data[si]!;
          }
        }
        break;
      }
      case 'tensordot': {
        const { axesA, axesB, pairs } = p as { axesA: number[]; axesB: number[]; pairs: number };
        const acc = new Float64Array(sizeOf(t.shape));
        for (let k = 0; k < pairs; k++) {
          const A = ins[k]!, B = ins[pairs + k]!;
          const freeA = A.shape.flatMap((_, i) => (axesA.includes(i) ? [] : [i]));
          const freeB = B.shape.flatMap((_, i) => (axesB.includes(i) ? [] : [i]));
          const cshape = axesA.map((a) => A.shape[a]!);
          const sa = stridesOf(A.shape), sb = stridesOf(B.shape);
          for (let o = 0; o < acc.length; o++) {
            const idx = unravel(o, t.shape);
            let s = 0;
            for (let c = 0; c < sizeOf(cshape); c++) {
              const ci = unravel(c, cshape);
              let ia = 0, ib = 0;
              freeA.forEach((ax, i) => (ia += idx[i]! * sa[ax]!));
              freeB.forEach((ax, i) => (ib += idx[freeA.length + i]! * sb[ax]!));
              axesA.forEach((ax, i) => (ia += ci[i]! * sa[ax]!));
              axesB.forEach((ax, i) => (ib += ci[i]! * sb[ax]!));
              s += A.data[ia]! * B.data[ib]!;
            }
            acc[o] = acc[o]! + s;
          }
        }
        out = make(t.dtype, t.shape, (i) => acc[i]!);
        break;
      }
      case 'map-blocks': {
        const k = kernels[p.kernel];
        if (!k) throw new Error(`no test kernel ${p.kernel}`);
        out = k(ins, p.params, p.blockIndex);
        break;
      }
      default:
        throw new Error(`interpret: op ${t.op} not supported`);
    }
    if (out.dtype !== t.dtype || out.shape.join() !== t.shape.join()) throw new Error(`${t.key}: made ${out.dtype}[${out.shape}] but declared ${t.dtype}[${t.shape}]`);
    done.set(t.key, out);
  }
  return done;
}
