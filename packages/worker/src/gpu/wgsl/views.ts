import {
  paramsOf,
  permuteShape,
  stridesOf,
  type Dtype,
  type ElementwiseParams,
  type Instruction,
  type RandomParams,
} from '@tessera/protocol';
import { arrayElem, lit, offset64Expr, offsetExpr, streamKey, valueType, type Params, type Storage } from './common.js';
import { programCode } from './program.js';

/**
 * The inputs of a fused program as views over its domain (a device buffer, a constant, or a
 * creation source computed in place), and the WGSL `value()` that reads them and runs the program:
 * the part the elementwise and the reduction kernels share.
 */

/** A chunk input the kernel reads from a device buffer. */
export interface DeviceInput {
  dtype: Dtype;
  storage: Storage;
  shape: readonly number[];
}

export type View =
  | { kind: 'buf'; dtype: Dtype; storage: Storage; binding: number; strides: number[] }
  | { kind: 'const'; dtype: Dtype; value: number }
  | { kind: 'arange'; dtype: Dtype; start: number; step: number; strides: number[] }
  | { kind: 'random'; dtype: Dtype; p: RandomParams; base: number; strides: number[]; baseExpr?: string };

/** Strides of a view over the domain: permuted, then right-aligned broadcast (0 on stretched axes). */
function domainStrides(
  shape: readonly number[],
  strides: readonly number[],
  perm: readonly number[] | undefined,
  D: readonly number[],
  i: number,
): number[] {
  const vShape = perm ? permuteShape(shape, perm) : shape;
  const vStr = perm ? perm.map((a) => strides[a]!) : strides;
  const lead = D.length - vShape.length;
  if (lead < 0) throw new Error(`elementwise: input ${i} has more axes than the domain`);
  return D.map((d, k) => {
    if (k < lead) return 0;
    const v = vShape[k - lead]!;
    if (v === d) return d === 1 ? 0 : vStr[k - lead]!;
    if (v === 1) return 0;
    throw new Error(`elementwise: input ${i} (view [${vShape.join(', ')}]) does not broadcast to domain [${D.join(', ')}]`);
  });
}

export function resolveViews(p: ElementwiseParams, deps: readonly DeviceInput[]): View[] {
  let next = 0;
  const D = p.domain;
  return p.inputs.map((v, i): View => {
    const src = v.source;
    if (src) {
      if (src.op === 'full') return { kind: 'const', dtype: src.dtype, value: paramsOf(src, 'full').value };
      if (src.op === 'arange') {
        const a = paramsOf(src, 'arange');
        return { kind: 'arange', dtype: src.dtype, start: a.start, step: a.step, strides: domainStrides(src.shape, [1], v.perm, D, i) };
      }
      const rp = paramsOf(src, 'random');
      const gs = stridesOf(rp.fullShape);
      const base = rp.offset.reduce((s, o, k) => s + o * gs[k]!, 0);
      return { kind: 'random', dtype: src.dtype, p: rp, base, strides: domainStrides(src.shape, gs, v.perm, D, i) };
    }
    const d = deps[next];
    if (!d) throw new Error(`elementwise: the input views read ${next + 1} dependencies, the task has ${deps.length}`);
    return {
      kind: 'buf',
      dtype: d.dtype,
      storage: d.storage,
      binding: next++,
      strides: domainStrides(d.shape, stridesOf(d.shape), v.perm, D, i),
    };
  });
}

/** One loader per input, in WGSL: its value (in the dtype's value type) at an address. */
function loaders(views: readonly View[], helpers: Set<string>, prm: Params): { params: string[]; loads: string[] } {
  const params: string[] = [];
  const loads: string[] = [];
  views.forEach((v, j) => {
    const x = `x${j}`;
    switch (v.kind) {
      case 'const':
        loads.push(`let ${x} = ${lit(v.dtype, v.value)};`);
        return;
      case 'buf': {
        params.push(`a${j}: u32`);
        const b = `in${v.binding}`;
        const e =
          v.storage === 'u8'
            ? `((${b}[a${j} >> 2u] >> ((a${j} & 3u) * 8u)) & 255u)`
            : v.storage === 'f16'
              ? `f32(${b}[a${j}])`
              : `${b}[a${j}]`;
        loads.push(`let ${x} = ${e};`);
        return;
      }
      case 'arange': {
        params.push(`a${j}: u32`);
        let e: string;
        if (v.dtype === 'float32') e = `fma(f32(a${j}), ${prm.f32(v.step)}, ${prm.f32(v.start)})`;
        else if (v.dtype === 'int32') e = `(${prm.i32(v.start)} + i32(a${j}) * ${prm.i32(v.step)})`;
        else e = `((${prm.u32(v.start)} + a${j} * ${prm.u32(v.step)}) & 255u)`;
        loads.push(`let ${x} = ${e};`);
        return;
      }
      case 'random': {
        params.push(`a${j}: vec2<u32>`);
        helpers.add('uniform01');
        const { p } = v;
        const k0 = prm.pair(streamKey(p.seed, 0));
        let e: string;
        if (p.dist === 'uniform') {
          e = `(${prm.f32(p.a)} + ${prm.f32(p.b - p.a)} * uniform01(${k0}, a${j}))`;
        } else {
          helpers.add('cosf');
          helpers.add('uniform01c');
          const k1 = prm.pair(streamKey(p.seed, 1));
          e = `(${prm.f32(p.a)} + ${prm.f32(p.b)} * (sqrt(-2.0 * log(uniform01c(${k0}, a${j}))) * cosf(6.28318530718 * uniform01(${k1}, a${j}))))`;
        }
        loads.push(`let ${x} = ${e};`);
        return;
      }
    }
  });
  return { params, loads };
}

/** Stride vectors of the views that need an address (everything but constants). */
export function addressed(views: readonly View[]): number[] {
  return views.flatMap((v, j) => (v.kind === 'const' ? [] : [j]));
}

export function bindingsCode(views: readonly View[], out: { elem: string } | undefined, startAt: number): string {
  const lines: string[] = [];
  if (out) lines.push(`@group(0) @binding(0) var<storage, read_write> out: array<${out.elem}>;`);
  for (const v of views) {
    if (v.kind !== 'buf') continue;
    lines.push(`@group(0) @binding(${startAt + v.binding}) var<storage, read> in${v.binding}: array<${arrayElem(v.storage)}>;`);
  }
  return lines.join('\n');
}

export function valueFn(
  views: readonly View[],
  program: readonly Instruction[],
  helpers: Set<string>,
  prm: Params,
): { code: string; resultDtype: Dtype } {
  const { params, loads } = loaders(views, helpers, prm);
  if (views.some((v) => v.kind === 'random')) {
    helpers.add('add64');
    helpers.add('mulw');
  }
  const { lines, result } = programCode(
    program,
    views.map((v) => v.dtype),
    helpers,
  );
  const resultDtype = program[program.length - 1]!.dtype;
  const code = `fn value(${params.join(', ')}) -> ${valueType(resultDtype)} {
  ${[...loads, ...lines].join('\n  ')}
  return ${result};
}`;
  return { code, resultDtype };
}

/** The value() call with each input's address at a multi-index (u32 offsets, u64 for random). */
export function valueCall(
  views: readonly View[],
  idx: readonly string[],
  strides: readonly (readonly number[])[],
  bases?: readonly string[],
): string {
  const args: string[] = [];
  addressed(views).forEach((j, q) => {
    const v = views[j]!;
    const st = strides[q]!;
    if (v.kind === 'random') {
      let e = offset64Expr(v.baseExpr ?? v.base, idx, st);
      if (bases) e = `add64(${bases[q]}, ${e})`;
      args.push(e);
    } else {
      const e = offsetExpr(0, idx, st);
      args.push(bases ? `${bases[q]} + ${e}` : e);
    }
  });
  return `value(${args.join(', ')})`;
}
