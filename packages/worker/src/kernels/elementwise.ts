import {
  allocChunk,
  isWideData,
  partialComponents,
  reducedShape,
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type ChunkData,
  type ElementwiseParams as Params,
  type ReducePartialSpec,
} from '@tessera/protocol';
import { BLOCK, compile, markInexact, runStep, scalarStepper, scratch, takeInexact, type Compiled } from './program.js';
import { feed, feedExact, initPartial, isArg, kindCode } from './reduce.js';
import { runExact, type Exact } from './exact.js';
import { loadWide, storeWide, wideAt } from './wide.js';
import { resolveInputs, type ProgramInput } from './sources.js';
import { collapse, cStrides, nextIndex } from './strided.js';

/**
 * Drives a compiled program over a domain, tile by tile. The (collapsed) domain is seen as
 * [outer..., R, C]; tiles are nr x nc sub-boxes of the last two axes holding <= BLOCK elements.
 * Without transposed inputs a tile is whole rows, so it is one contiguous run of the output and
 * contiguous float64 inputs are read in place (subarray, no copy), and a float64 result is
 * computed straight into the output. With a transposed input (fused `x + x.T`) tiles are
 * 8 x 512: each strided column read then uses a whole cache line across the tile's 8 rows
 * (measured faster here than square 64x64 tiles, whose short rows cost more than they save).
 * The program's value goes to a sink: stored into the output, or folded into a reduction partial.
 */

interface ReduceSink {
  k: number;
  data: Float64Array;
}

/** Rows per tile when an input is transposed: 8 float64 = one 64-byte line of the transposed source. */
const TROWS = 8;

export function elementwise(p: ElementwiseParams, deps: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const inputs = resolveInputs(p, deps);
  const prog = compile(p.program, inputs.length, inputs.map((x) => x.dtype));
  const D = p.domain;
  const vecs: number[][] = inputs.map((x, i) => viewStrides(x, D, i));
  return run(prog, p.program, inputs, vecs, D, p.reduce, shape, dtype);
}

/** reduce-partial: the same driver with an empty program (the value is the input itself). */
export function reducePartial(spec: ReducePartialSpec, inputs: readonly Chunk[], shape: number[]): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`reduce-partial: takes 1 input, got ${inputs.length}`);
  const input: ProgramInput = { dtype: x.dtype, data: x.data, shape: x.shape, strides: cStrides(x.shape), base: 0, perm: undefined };
  return run(compile([], 1), [], [input], [input.strides], x.shape, spec, shape, 'float64');
}

/** Strides over the domain of input i's view: permuted, then right-aligned broadcast (0 on stretched axes). */
function viewStrides(x: ProgramInput, D: readonly number[], i: number): number[] {
  const { shape, strides: cs, perm } = x;
  if (perm && (perm.length !== shape.length || perm.some((a) => a >= shape.length))) {
    throw new Error(`elementwise: input ${i}: perm [${perm.join(', ')}] does not fit shape [${shape.join(', ')}]`);
  }
  const vShape = perm ? perm.map((a) => shape[a]!) : shape;
  const vStr = perm ? perm.map((a) => cs[a]!) : cs;
  const lead = D.length - vShape.length;
  if (lead < 0) throw new Error(`elementwise: input ${i} of shape [${shape.join(', ')}] has more axes than domain [${D.join(', ')}]`);
  return D.map((d, k) => {
    if (k < lead) return 0;
    const v = vShape[k - lead]!;
    if (v === d) return d === 1 ? 0 : vStr[k - lead]!;
    if (v === 1) return 0;
    throw new Error(`elementwise: input ${i} (view [${vShape.join(', ')}]) does not broadcast to domain [${D.join(', ')}]`);
  });
}

function run(
  prog: Compiled, source: Params['program'], inputs: readonly ProgramInput[], inVecs: number[][], D: readonly number[],
  reduce: ReducePartialSpec | undefined, shape: number[], dtype: Dtype,
): Chunk {
  const used = prog.inputReg.flatMap((r, i) => (r >= 0 ? [i] : []));
  const vecs = used.map((i) => inVecs[i]!);
  let out: Chunk;
  let sink: ReduceSink | undefined;
  let g0 = 0;
  if (reduce) {
    const C = partialComponents(reduce.kind);
    const want = [...reducedShape(D, reduce.axes, true), C];
    if (reduce.axes.some((a, j) => a >= D.length || (j > 0 && a <= reduce.axes[j - 1]!))) throw new Error(`reduce: axes [${reduce.axes.join(', ')}] must be ascending and within rank ${D.length}`);
    out = allocChunk('float64', want);
    const k = kindCode(reduce.kind);
    sink = { k, data: out.data as Float64Array };
    initPartial(k, sink.data);
    // Slot offsets (already times C) of the keepdims partial; 0 along reduced axes.
    const ps = cStrides(want);
    vecs.push(D.map((_, a) => (reduce.axes.includes(a) ? 0 : ps[a]!)));
    if (isArg(k)) {
      const gv = argIndexStrides(reduce, D);
      g0 = gv.g0;
      vecs.push(gv.strides);
    }
  } else {
    out = allocChunk(dtype, D, { overwrite: true });
  }
  if (shape.length !== out.shape.length || shape.some((d, i) => d !== out.shape[i])) {
    throw new Error(`elementwise: declared shape [${shape.join(', ')}] but the program gives [${out.shape.join(', ')}]`);
  }
  let size = 1;
  for (const d of D) size *= d;
  if (size === 0) return out;

  const { dims, strides } = collapse(D, vecs);
  while (dims.length < 2) {
    dims.unshift(1);
    strides.forEach((s) => s.unshift(0));
  }
  const r = dims.length;
  const R = dims[r - 2]!, Cn = dims[r - 1]!;
  const nIn = used.length;
  // Only memory reads care about tile shape: a generated source costs the same in any order.
  const transposed = strides.slice(0, nIn).some((s, j) => !inputs[used[j]!]!.tile && s[r - 1] !== 0 && s[r - 1] !== 1);
  const tc = transposed ? Math.min(Cn, BLOCK / TROWS) : Math.min(Cn, BLOCK);
  const trCap = Math.min(R, Math.max(1, Math.floor(BLOCK / tc)));

  const bufs = scratch(prog.nregs);
  const regs = bufs.slice();
  const fillN = Math.min(BLOCK, size);
  for (const c of prog.consts) bufs[c.reg]!.fill(c.value, 0, fillN);
  // Inputs constant over the whole domain (size 1 after broadcasting) are loaded once.
  let invariantInexact = false;
  const invariant = used.map((i, j) => {
    if (!strides[j]!.every((s) => s === 0)) return false;
    const first = firstValue(inputs[i]!);
    if (!first.exact) invariantInexact = true;
    bufs[prog.inputReg[i]!]!.fill(first.value, 0, fillN);
    return true;
  });
  takeInexact();

  const srcs: ChunkData[] = used.map((i) => inputs[i]!.data);
  // Where each input's tile starts and steps (for the exact path's reads of 64-bit data).
  const tileAt = used.map(() => ({ b: 0, sR: 0, sC: 0 }));
  const inDtypes = inputs.map((x) => x.dtype);
  let scalar: ((i: number, args: number[]) => number) | undefined;
  const gens = used.map((i) => inputs[i]!.tile);
  // Where each vector's offsets start: an input's first element (a global index for a random source).
  const start = vecs.map((_, v) => (v < nIn ? inputs[used[v]!]!.base : v === nIn + 1 ? g0 : 0));
  const regOf = used.map((i) => prog.inputReg[i]!);
  const od = out.data;
  const res = prog.result;
  const resIsInput = prog.inputReg.includes(res);
  const steps = prog.steps;
  const nv = strides.length;
  const base = new Array<number>(nv).fill(0);
  const idx = new Array<number>(r - 2).fill(0);
  let outer = 0;
  const sS = sink ? strides[nIn]! : undefined;
  const gS = sink && isArg(sink.k) ? strides[nIn + 1]! : undefined;
  const wholeTile = !!sS && sS[r - 1] === 0 && sS[r - 2] === 0 && (!gS || (gS[r - 1] === 0 && gS[r - 2] === 0));
  do {
    for (let v = 0; v < nv; v++) {
      let b = start[v]!;
      for (let a = 0; a < r - 2; a++) b += idx[a]! * strides[v]![a]!;
      base[v] = b;
    }
    for (let r0 = 0; r0 < R; r0 += trCap) {
      const nr = Math.min(trCap, R - r0);
      for (let c0 = 0; c0 < Cn; c0 += tc) {
        const nc = Math.min(tc, Cn - c0);
        const n = nr * nc;
        for (let j = 0; j < nIn; j++) {
          if (invariant[j]) continue;
          const s = strides[j]!;
          const sR = s[r - 2]!, sC = s[r - 1]!;
          const b = base[j]! + r0 * sR + c0 * sC;
          const gen = gens[j];
          const at = tileAt[j]!;
          at.b = b; at.sR = sR; at.sC = sC;
          if (gen) gen(bufs[regOf[j]!]!, 0, nr, nc, b, sR, sC);
          regs[regOf[j]!] = gen ? bufs[regOf[j]!]! : load(srcs[j]!, b, sR, sC, nr, nc, bufs[regOf[j]!]!);
        }
        const o = outer * R * Cn + r0 * Cn + c0;
        // float64 output, contiguous tile: the result register is the output memory itself
        // (unless the result is an input's register, which the loads just filled).
        const direct = !sink && !resIsInput && od instanceof Float64Array && nc === Cn;
        if (!sink && !resIsInput) regs[res] = direct ? od.subarray(o, o + n) : bufs[res]!;
        for (let q = 0; q < steps.length; q++) runStep(steps[q]!, regs, n);
        const val = regs[res]!;
        if (takeInexact() || invariantInexact) {
          // A 64-bit integer a double may not hold: this tile again, exactly (exact.ts).
          scalar ??= scalarStepper(source, inDtypes);
          const readers = used.map((i, j) => {
            const d = srcs[j]!;
            if (!isWideData(d)) return (e: number): Exact => (invariant[j] ? bufs : regs)[regOf[j]!]![e]!;
            const { b, sR, sC } = invariant[j] ? { b: inputs[i]!.base, sR: 0, sC: 0 } : tileAt[j]!;
            return (e: number): Exact => d[b + Math.floor(e / nc) * sR + (e % nc) * sC]!;
          });
          const slotOf = (e: number): { p: number; g: number } => {
            const i = Math.floor(e / nc), j = e % nc;
            if (wholeTile) return { p: base[nIn]!, g: gS ? base[nIn + 1]! + j * gS[r - 1]! + i * gS[r - 2]! : 0 };
            return { p: base[nIn]! + (r0 + i) * sS![r - 2]! + (c0 + j) * sS![r - 1]!, g: gS ? base[nIn + 1]! + (r0 + i) * gS[r - 2]! + (c0 + j) * gS[r - 1]! : 0 };
          };
          runExact(source, { read: (k, e) => readers[used.indexOf(k)]!(e), isFloat: (k) => inDtypes[k] === 'float64' || inDtypes[k] === 'float32' }, n, scalar, (e, v) => {
            const at = o + Math.floor(e / nc) * Cn + (e % nc);
            if (sink) {
              const { p, g } = slotOf(e);
              feedExact(sink.k, sink.data, v, p, g);
            } else if (isWideData(od)) od[at] = typeof v === 'bigint' ? v : BigInt(v);
            else od[at] = Number(v);
          });
          takeInexact();
          continue;
        }
        if (!sink) {
          if (direct) continue;
          if (isWideData(od)) for (let i = 0; i < nr; i++) storeWide(od, o + i * Cn, val, i * nc, nc);
          else if (nc === Cn) od.set(n === val.length ? val : val.subarray(0, n), o);
          else for (let i = 0; i < nr; i++) storeRow(od, o + i * Cn, val, i * nc, nc);
        } else if (wholeTile) {
          feed(sink.k, sink.data, val, 0, n, base[nIn]!, 0, gS ? base[nIn + 1]! : 0, 0);
        } else {
          const sR = sS![r - 2]!, sC = sS![r - 1]!;
          const gR = gS ? gS[r - 2]! : 0, gC = gS ? gS[r - 1]! : 0;
          const gb = gS ? base[nIn + 1]! : 0;
          for (let i = 0; i < nr; i++) {
            feed(sink.k, sink.data, val, i * nc, nc, base[nIn]! + (r0 + i) * sR + c0 * sC, sC, gb + (r0 + i) * gR + c0 * gC, gC);
          }
        }
      }
    }
    outer++;
  } while (nextIndex(idx, dims, r - 2));
  return out;
}

/** The value of an input read at one place only (broadcast from a single element), and whether a double holds it exactly. */
function firstValue(x: ProgramInput): { value: number; exact: boolean } {
  if (!x.tile) return isWideData(x.data) ? wideAt(x.data, x.base) : { value: x.data[x.base]!, exact: true };
  const one = new Float64Array(1);
  x.tile(one, 0, 1, 1, x.base, 0, 0);
  return { value: one[0]!, exact: true };
}

/** Read an nr x nc tile of src (element (i, j) at b + i*sR + j*sC) as a float64 block. */
function load(src: ChunkData, b: number, sR: number, sC: number, nr: number, nc: number, buf: Float64Array): Float64Array {
  if (isWideData(src)) {
    if (!loadWide(src, b, sR, sC, nr, nc, buf)) markInexact();
    return buf;
  }
  const n = nr * nc;
  if (sC === 1 && (nr === 1 || sR === nc)) {
    if (src instanceof Float64Array) return src.subarray(b, b + n);
    buf.set(src.subarray(b, b + n));
    return buf;
  }
  if (sC === 0 && sR === 0) {
    buf.fill(src[b]!, 0, n);
    return buf;
  }
  for (let i = 0, o = 0; i < nr; i++, o += nc) {
    const rb = b + i * sR;
    if (sC === 1 && nc >= 256) buf.set(src.subarray(rb, rb + nc), o);
    else for (let j = 0, q = rb; j < nc; j++, q += sC) buf[o + j] = src[q]!;
  }
  return buf;
}

/** Short rows: a plain loop beats creating a subarray for TypedArray.set. */
function storeRow(od: Exclude<ChunkData, BigInt64Array | BigUint64Array>, o: number, val: Float64Array, v: number, n: number): void {
  if (n >= 256) od.set(val.subarray(v, v + n), o);
  else for (let j = 0; j < n; j++) od[o + j] = val[v + j]!;
}

/**
 * argmin/argmax global index: the flat C-order index into fullShape when every domain axis is
 * reduced, else the position along the one reduced axis.
 */
function argIndexStrides(spec: ReducePartialSpec, D: readonly number[]): { g0: number; strides: number[] } {
  const { offset, fullShape, axes } = spec;
  if (!offset || !fullShape || offset.length !== D.length || fullShape.length !== D.length) {
    throw new Error(`${spec.kind}: offset and fullShape must be given with rank ${D.length}`);
  }
  if (axes.length === D.length) {
    const fs = cStrides(fullShape);
    return { g0: offset.reduce((acc, o, a) => acc + o * fs[a]!, 0), strides: fs };
  }
  if (axes.length !== 1) throw new Error(`${spec.kind}: reduces over one axis or all of them, got axes [${axes.join(', ')}]`);
  const ax = axes[0]!;
  return { g0: offset[ax]!, strides: D.map((_, a) => (a === ax ? 1 : 0)) };
}
