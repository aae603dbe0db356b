import type { ElementwiseParams, ReducePartialSpec } from '@tessera/protocol';
import { collapse } from '../../kernels/strided.js';
import { PRELUDE, WG, decompose, f32Lit, grid, helperCode, offset64Expr, offsetExpr, Params } from './common.js';
import type { KernelPlan } from './elementwise.js';
import { addressed, bindingsCode, resolveViews, valueCall, valueFn, type DeviceInput } from './views.js';

/**
 * A reduction's partial, on the GPU: float32 accumulators of four 32-bit words per slot
 * (a, b, c as f32 bits, i as u32):
 *   sum, mean: a = sum      prod: a = product      min, max: a = value (NaN wins)
 *   var, std:  a = count, b = mean, c = M2 (Welford per thread, Chan's merge between threads)
 *   argmin, argmax: a = value, i = flat index over the reduced axes (0xffffffff: none)
 * Pass 1 reduces each slot's elements, split in G groups: either a workgroup per (slot, group)
 * whose threads stride over the group and meet in a shared-memory tree (reduced axes innermost,
 * or few slots), or a thread per (slot, group) walking it (kept axes innermost: neighbouring
 * threads read neighbouring slots). Pass 2 merges the G accumulators of each slot. The host turns
 * the accumulators into the float64 partial the CPU kernels define (reduction.ts).
 */
export const ACC_WORDS = 4;
export const NO_INDEX = 0xffffffff;

export interface ReducePlan {
  pass1: KernelPlan;
  pass2: KernelPlan | undefined;
  /** Slots (kept positions), elements reduced per slot, groups per slot. */
  S: number;
  R: number;
  G: number;
}

function accCode(kind: ReducePartialSpec['kind'], helpers: Set<string>): string {
  helpers.add('isnanf');
  const st = 'struct Acc { a: f32, b: f32, c: f32, i: u32 }';
  const inf = f32Lit(Infinity);
  let init: string;
  let merge: string;
  let add: string;
  switch (kind) {
    case 'sum':
    case 'mean':
      init = 'Acc(0.0, 0.0, 0.0, 0u)';
      merge = 'return Acc(x.a + y.a, 0.0, 0.0, 0u);';
      add = 'return Acc(acc.a + v, 0.0, 0.0, 0u);';
      break;
    case 'prod':
      init = 'Acc(1.0, 0.0, 0.0, 0u)';
      merge = 'return Acc(x.a * y.a, 0.0, 0.0, 0u);';
      add = 'return Acc(acc.a * v, 0.0, 0.0, 0u);';
      break;
    case 'min':
    case 'max': {
      const cmp = kind === 'min' ? '<' : '>';
      init = `Acc(${kind === 'min' ? inf : f32Lit(-Infinity)}, 0.0, 0.0, 0u)`;
      merge = `if (y.a ${cmp} x.a || isnanf(y.a)) { return y; } return x;`;
      add = `if (v ${cmp} acc.a || isnanf(v)) { return Acc(v, 0.0, 0.0, 0u); } return acc;`;
      break;
    }
    case 'var':
    case 'std':
      init = 'Acc(0.0, 0.0, 0.0, 0u)';
      merge = `if (y.a == 0.0) { return x; }
  if (x.a == 0.0) { return y; }
  let n = x.a + y.a;
  let d = y.b - x.b;
  return Acc(n, x.b + d * y.a / n, x.c + y.c + d * d * x.a * y.a / n, 0u);`;
      add = `let n = acc.a + 1.0;
  let d = v - acc.b;
  let m = acc.b + d / n;
  return Acc(n, m, acc.c + d * (v - m), 0u);`;
      break;
    case 'isum':
    case 'iprod':
      // Exact 64-bit integer accumulation: WGSL has no 64-bit types (gpuUnsupported keeps these on the CPU).
      throw new Error(`${kind} has no WGSL kernel`);
    case 'argmin':
    case 'argmax': {
      const cmp = kind === 'argmin' ? '<' : '>';
      init = `Acc(${kind === 'argmin' ? inf : f32Lit(-Infinity)}, 0.0, 0.0, ${NO_INDEX}u)`;
      merge = `if (y.i == ${NO_INDEX}u) { return x; }
  if (x.i == ${NO_INDEX}u) { return y; }
  let xn = isnanf(x.a);
  let yn = isnanf(y.a);
  var take: bool;
  if (yn) { take = !xn || y.i < x.i; }
  else if (xn) { take = false; }
  else if (y.a == x.a) { take = y.i < x.i; }
  else { take = y.a ${cmp} x.a; }
  if (take) { return y; }
  return x;`;
      add = 'return acc_merge(acc, Acc(v, 0.0, 0.0, r));';
      break;
    }
  }
  return `${st}
fn acc_init() -> Acc { return ${init}; }
fn acc_merge(x: Acc, y: Acc) -> Acc {
  ${merge}
}
fn acc_add(acc: Acc, v: f32, r: u32) -> Acc {
  ${add}
}
fn acc_store(k: u32, x: Acc) {
  dst[k * 4u] = bitcast<u32>(x.a); dst[k * 4u + 1u] = bitcast<u32>(x.b); dst[k * 4u + 2u] = bitcast<u32>(x.c); dst[k * 4u + 3u] = x.i;
}`;
}

/** Reduction partial of a fused program (p.reduce set), or of a chunk (reduce-partial: an identity program). */
export function reducePlan(
  p: ElementwiseParams & { reduce: ReducePartialSpec },
  deps: readonly DeviceInput[],
  opts: { maxWorkgroups: number },
): ReducePlan {
  const f16 = deps.some((d) => d.storage === 'f16');
  const D = p.domain;
  const { kind, axes } = p.reduce;
  if (axes.some((a, j) => a >= D.length || (j > 0 && a <= axes[j - 1]!)))
    throw new Error(`reduce: axes [${axes.join(', ')}] must be ascending and within rank ${D.length}`);
  const views = resolveViews(p, deps);
  const helpers = new Set<string>();
  const prm = new Params();
  const { code: fn, resultDtype } = valueFn(views, p.program, helpers, prm);
  if (resultDtype !== 'float32') throw new Error(`reduce: GPU reductions take float32 values, the program gives ${resultDtype}`);
  const acc = accCode(kind, helpers);
  const addr = addressed(views);
  const vecs = addr.map((j) => (views[j] as { strides: number[] }).strides);
  const keptAx = D.map((_, a) => a).filter((a) => !axes.includes(a));
  const kept = collapse(
    keptAx.map((a) => D[a]!),
    vecs.map((s) => keptAx.map((a) => s[a]!)),
  );
  const red = collapse(
    axes.map((a) => D[a]!),
    vecs.map((s) => axes.map((a) => s[a]!)),
  );
  const S = keptAx.reduce((s, a) => s * D[a]!, 1);
  const R = axes.reduce((s, a) => s * D[a]!, 1);
  if (R === 0) throw new Error('reduce: nothing to reduce (an empty axis)');
  // Reduced axes innermost (a row sum, a full sum) or few slots: a workgroup per slot and group.
  const innerReduced = D.length > 0 && axes.includes(D.length - 1) && D[D.length - 1]! > 1;
  const rows = R >= 1024 && (innerReduced || S < 256);
  let G: number;
  // Enough workgroups to fill a big GPU (~1024), each thread still walking >= 16 elements.
  if (rows) G = Math.max(1, Math.min(Math.ceil(1024 / S), Math.ceil(R / (WG * 16))));
  else G = Math.max(1, Math.min(Math.ceil(16384 / S), Math.ceil(R / 32)));
  const CH = Math.ceil(R / G);
  const units = S * G;
  const kdec = decompose('s', kept.dims, 'k');
  const rdec = decompose('r', red.dims, 'q');
  // Kept offsets per addressed input, computed once per slot.
  const baseLines: string[] = [];
  const bases = addr.map((j, q) => {
    const v = views[j]!;
    const name = `b${q}`;
    if (v.kind === 'random') {
      helpers.add('add64');
      helpers.add('mulw');
      baseLines.push(`let ${name} = ${offset64Expr(prm.u64(v.base), kdec.idx, kept.strides[q]!)};`);
    } else baseLines.push(`let ${name} = ${offsetExpr(0, kdec.idx, kept.strides[q]!)};`);
    return name;
  });
  // The random inputs' own base is in b (offset64Expr above); the reduced part starts at 0.
  const redViews = views.map((v) => (v.kind === 'random' ? { ...v, baseExpr: 'vec2<u32>(0u, 0u)' } : v));
  const call = valueCall(redViews, rdec.idx, red.strides, bases);
  const header = `${f16 ? 'enable f16;\n' : ''}${PRELUDE}
${bindingsCode(views, undefined, 1)}
@group(0) @binding(0) var<storage, read_write> dst: array<u32>;
${prm.binding(1 + deps.length)}
${helperCode(helpers)}
${fn}
${acc}`;
  let main: string;
  let dispatch: [number, number];
  if (rows) {
    dispatch = grid(units, opts.maxWorkgroups, 1);
    main = `var<workgroup> sh: array<Acc, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.y * ${dispatch[0]}u + wid.x;
  if (w >= ${units}u) { return; }
  let s = w / ${G}u;
  let g = w % ${G}u;
  ${kdec.code}
  ${baseLines.join('\n  ')}
  var acc = acc_init();
  let r1 = min(g * ${CH}u + ${CH}u, ${R}u);
  for (var r = g * ${CH}u + lid; r < r1; r += ${WG}u) {
    ${rdec.code.replace(/\n {2}/g, '\n    ')}
    acc = acc_add(acc, ${call}, r);
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { sh[lid] = acc_merge(sh[lid], sh[lid + h]); }
    workgroupBarrier();
  }
  if (lid == 0u) { acc_store(g * ${S}u + s, sh[0]); }
}`;
  } else {
    dispatch = grid(units, opts.maxWorkgroups);
    main = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * ${dispatch[0]}u + wid.x) * ${WG}u + lid;
  if (t >= ${units}u) { return; }
  let s = t % ${S}u;
  let g = t / ${S}u;
  ${kdec.code}
  ${baseLines.join('\n  ')}
  var acc = acc_init();
  let r1 = min(g * ${CH}u + ${CH}u, ${R}u);
  for (var r = g * ${CH}u; r < r1; r++) {
    ${rdec.code.replace(/\n {2}/g, '\n    ')}
    acc = acc_add(acc, ${call}, r);
  }
  acc_store(g * ${S}u + s, acc);
}`;
  }
  const pass1: KernelPlan = { code: `${header}\n${main}\n`, dispatch, params: prm.data() };
  let pass2: KernelPlan | undefined;
  if (G > 1) {
    const h2 = new Set<string>();
    const acc2 = accCode(kind, h2);
    const load = (k: string): string =>
      `Acc(bitcast<f32>(src[${k}]), bitcast<f32>(src[${k} + 1u]), bitcast<f32>(src[${k} + 2u]), src[${k} + 3u])`;
    const head2 = `${PRELUDE}
@group(0) @binding(0) var<storage, read_write> dst: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
${helperCode(h2)}
${acc2}`;
    if (S < 256 && G >= 64) {
      // Few slots, many groups: a workgroup per slot, its threads striding over the groups, then a tree.
      const d2 = grid(S, opts.maxWorkgroups, 1);
      pass2 = {
        dispatch: d2,
        code: `${head2}
var<workgroup> sh: array<Acc, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wid.y * ${d2[0]}u + wid.x;
  if (s >= ${S}u) { return; }
  var acc = acc_init();
  for (var g = lid; g < ${G}u; g += ${WG}u) {
    let k = (g * ${S}u + s) * 4u;
    acc = acc_merge(acc, ${load('k')});
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { sh[lid] = acc_merge(sh[lid], sh[lid + h]); }
    workgroupBarrier();
  }
  if (lid == 0u) { acc_store(s, sh[0]); }
}
`,
      };
    } else {
      const d2 = grid(S, opts.maxWorkgroups);
      pass2 = {
        dispatch: d2,
        code: `${head2}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = (wid.y * ${d2[0]}u + wid.x) * ${WG}u + lid;
  if (s >= ${S}u) { return; }
  var acc = acc_init();
  for (var g = 0u; g < ${G}u; g++) {
    let k = (g * ${S}u + s) * 4u;
    acc = acc_merge(acc, ${load('k')});
  }
  acc_store(s, acc);
}
`,
      };
    }
  }
  return { pass1, pass2, S, R, G };
}
