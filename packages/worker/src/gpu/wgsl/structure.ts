import { stridesOf } from '@tessera/protocol';
import { collapse } from '../../kernels/strided.js';
import { PRELUDE, WG, arrayElem, decompose, grid, offsetExpr, type Storage } from './common.js';
import type { KernelPlan } from './elementwise.js';

/**
 * Transpose (any permutation) and the tiled matrix product.
 */

const TT = 32; // transpose tile edge
const TROWS = 8; // rows of the transpose workgroup (each thread moves TT / TROWS elements)

export interface TransposePlan extends KernelPlan {
  /** Workgroups along z (batches of the outer axes); 1 for the plain kernel. */
  z: number;
}

/**
 * out = x permuted (out axis i is x axis perm[i]), values copied bit for bit. Axes are collapsed
 * first; when the output's last axis is strided in x and its second-to-last is x's contiguous one
 * (a matrix transpose, possibly batched), 32x32 tiles go through workgroup memory so both the
 * reads and the writes are coalesced; anything else is one thread per element.
 */
export function transposePlan(
  shape: readonly number[],
  perm: readonly number[],
  storage: Storage,
  opts: { maxWorkgroups: number },
): TransposePlan {
  if (storage === 'u8') throw new Error('transpose: uint8 chunks are transposed on the CPU');
  const ss = stridesOf(shape);
  const outShape = perm.map((a) => shape[a]!);
  const n = outShape.reduce((a, b) => a * b, 1);
  const { dims, strides } = collapse(outShape, [perm.map((a) => ss[a]!)]);
  const st = strides[0]!;
  const r = dims.length;
  const T = arrayElem(storage);
  const head = `${storage === 'f16' ? 'enable f16;\n' : ''}${PRELUDE}
@group(0) @binding(0) var<storage, read_write> out: array<${T}>;
@group(0) @binding(1) var<storage, read> src: array<${T}>;`;
  const batches = dims.slice(0, Math.max(0, r - 2)).reduce((a, b) => a * b, 1);
  if (r >= 2 && st[r - 2] === 1 && batches <= opts.maxWorkgroups) {
    const R = dims[r - 2]!;
    const C = dims[r - 1]!;
    const sC = st[r - 1]!;
    const outer = decompose('b', dims.slice(0, r - 2), 'p');
    const base = offsetExpr(0, outer.idx, st.slice(0, r - 2));
    return {
      z: batches,
      dispatch: [Math.ceil(C / TT), Math.ceil(R / TT)],
      code: `${head}
var<workgroup> tile: array<array<${T}, ${TT + 1}>, ${TT}>;
@compute @workgroup_size(${TT}, ${TROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wid.z;
  ${outer.code}
  let base = ${base};
  let i0 = wid.y * ${TT}u;
  let j0 = wid.x * ${TT}u;
  for (var k = 0u; k < ${TT}u; k += ${TROWS}u) {
    let i = i0 + lid.x;
    let j = j0 + lid.y + k;
    if (i < ${R}u && j < ${C}u) { tile[lid.y + k][lid.x] = src[base + i + j * ${sC}u]; }
  }
  workgroupBarrier();
  for (var k = 0u; k < ${TT}u; k += ${TROWS}u) {
    let i = i0 + lid.y + k;
    let j = j0 + lid.x;
    if (i < ${R}u && j < ${C}u) { out[(b * ${R}u + i) * ${C}u + j] = tile[lid.x][lid.y + k]; }
  }
}
`,
    };
  }
  const [wx, wy] = grid(n, opts.maxWorkgroups);
  const dec = decompose('o', dims, 'i');
  return {
    z: 1,
    dispatch: [wx, wy],
    code: `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.y * ${wx}u + wid.x) * ${WG}u + lid;
  if (o >= ${n}u) { return; }
  ${dec.code}
  out[o] = src[${offsetExpr(0, dec.idx, st)}];
}
`,
  };
}

/** One operand of a product: element (row i, column j) at data[i * rs + j * cs]. */
export interface MatOperand {
  rs: number;
  cs: number;
  storage: Storage;
}

const TM = 64; // output rows per workgroup
const TN = 64; // output columns per workgroup
const TK = 32; // inner dimension per step
const TPR = 4; // rows per thread (16 x 16 threads: 4 x 4 outputs each)

/**
 * C (M x N, row-major) = A (M x K) B (K x N), or C += A B (`accumulate`: tensordot's later pairs).
 * The packed kernel of TF.js's WebGPU backend, in the same spirit: 64 x 64 output tiles per
 * workgroup of 16 x 16 threads, each thread holding a 4 x 4 block of outputs in registers;
 * 64 x 32 tiles of A and 32 x 64 tiles of B are staged in workgroup memory (16 KiB), read from
 * global memory as vec4 where the layout allows (row-major, sizes multiple of 4), else element by
 * element in the order that keeps neighbouring threads on neighbouring addresses (a transposed
 * operand, x.T @ y, reads down its columns). Accumulation is float32 (int32 for int32 chunks,
 * wrapping like the CPU's result); float16 storage is widened to float32 on load.
 */
export function matmulPlan(
  M: number,
  N: number,
  K: number,
  a: MatOperand,
  b: MatOperand,
  outStorage: Storage,
  accumulate: boolean,
): KernelPlan {
  const int = outStorage === 'i32';
  const V = int ? 'i32' : 'f32';
  const V4 = `vec4<${V}>`;
  const f16 = outStorage === 'f16' || a.storage === 'f16' || b.storage === 'f16';
  const vecA = a.cs === 1 && a.rs % 4 === 0 && K % 4 === 0;
  const vecB = b.cs === 1 && b.rs % 4 === 0 && N % 4 === 0;
  const vecC = N % 4 === 0;
  const elem = (s: Storage, vec: boolean): string => (vec ? `vec4<${arrayElem(s)}>` : arrayElem(s));
  const widen = (s: Storage, e: string, vec: boolean): string => (s === 'f16' ? (vec ? `vec4<f32>(${e})` : `f32(${e})`) : e);
  const narrow = (e: string, vec: boolean): string => (outStorage === 'f16' ? (vec ? `vec4<f16>(${e})` : `f16(${e})`) : e);
  const zero = int ? '0' : '0.0';

  // A tile: As[m * TK + k]
  let loadA: string;
  if (vecA) {
    loadA = `for (var q = 0u; q < 2u; q++) {
      let id = lid + q * 256u;
      let ml = id / 8u;
      let kl = (id % 8u) * 4u;
      let m = m0 + ml;
      let k = k0 + kl;
      var v = ${V4}(${zero});
      if (m < ${M}u && k < ${K}u) { v = ${widen(a.storage, `A[(m * ${a.rs}u + k) / 4u]`, true)}; }
      As[ml * ${TK}u + kl] = v.x; As[ml * ${TK}u + kl + 1u] = v.y; As[ml * ${TK}u + kl + 2u] = v.z; As[ml * ${TK}u + kl + 3u] = v.w;
    }`;
  } else {
    const rowMajor = a.cs === 1 || a.rs !== 1;
    loadA = `for (var q = 0u; q < 8u; q++) {
      let id = lid + q * 256u;
      let ml = ${rowMajor ? `id / ${TK}u` : `id % ${TM}u`};
      let kl = ${rowMajor ? `id % ${TK}u` : `id / ${TM}u`};
      let m = m0 + ml;
      let k = k0 + kl;
      var v: ${V} = ${zero};
      if (m < ${M}u && k < ${K}u) { v = ${widen(a.storage, `A[m * ${a.rs}u + k * ${a.cs}u]`, false)}; }
      As[ml * ${TK}u + kl] = v;
    }`;
  }
  // B tile: Bs[k * (TN / 4) + n / 4] (vec4 across n)
  let loadB: string;
  if (vecB) {
    loadB = `for (var q = 0u; q < 2u; q++) {
      let id = lid + q * 256u;
      let kl = id / 16u;
      let nl = (id % 16u) * 4u;
      let k = k0 + kl;
      let n = n0 + nl;
      var v = ${V4}(${zero});
      if (k < ${K}u && n < ${N}u) { v = ${widen(b.storage, `B[(k * ${b.rs}u + n) / 4u]`, true)}; }
      Bs[kl * 16u + nl / 4u] = v;
    }`;
  } else {
    const rowMajor = b.cs === 1 || b.rs !== 1;
    loadB = `for (var q = 0u; q < 8u; q++) {
      let id = lid + q * 256u;
      let kl = ${rowMajor ? `id / ${TN}u` : `id % ${TK}u`};
      let nl = ${rowMajor ? `id % ${TN}u` : `id / ${TK}u`};
      let k = k0 + kl;
      let n = n0 + nl;
      var v: ${V} = ${zero};
      if (k < ${K}u && n < ${N}u) { v = ${widen(b.storage, `B[k * ${b.rs}u + n * ${b.cs}u]`, false)}; }
      Bs[kl * 16u + nl / 4u][nl % 4u] = v;
    }`;
  }
  const fmaRow = (r: number): string =>
    int
      ? `acc${r} = acc${r} + ${V4}(As[(ty * ${TPR}u + ${r}u) * ${TK}u + k]) * bv;`
      : `acc${r} = fma(${V4}(As[(ty * ${TPR}u + ${r}u) * ${TK}u + k]), bv, acc${r});`;
  const rows = [0, 1, 2, 3];
  let store: string;
  if (vecC) {
    store = rows
      .map(
        (r) => `{
    let m = m0 + ty * ${TPR}u + ${r}u;
    if (m < ${M}u && n < ${N}u) {
      let o = (m * ${N}u + n) / 4u;
      ${accumulate ? `C[o] = ${narrow(`${widen(outStorage, 'C[o]', true)} + acc${r}`, true)};` : `C[o] = ${narrow(`acc${r}`, true)};`}
    }
  }`,
      )
      .join('\n  ');
  } else {
    store = rows
      .map(
        (r) => `{
    let m = m0 + ty * ${TPR}u + ${r}u;
    if (m < ${M}u) {
      for (var c = 0u; c < 4u; c++) {
        if (n + c < ${N}u) {
          let o = m * ${N}u + n + c;
          ${accumulate ? `C[o] = ${narrow(`${widen(outStorage, 'C[o]', false)} + acc${r}[c]`, false)};` : `C[o] = ${narrow(`acc${r}[c]`, false)};`}
        }
      }
    }
  }`,
      )
      .join('\n  ');
  }
  const code = `${f16 ? 'enable f16;\n' : ''}${PRELUDE}
@group(0) @binding(0) var<storage, read_write> C: array<${elem(outStorage, vecC)}>;
@group(0) @binding(1) var<storage, read> A: array<${elem(a.storage, vecA)}>;
@group(0) @binding(2) var<storage, read> B: array<${elem(b.storage, vecB)}>;
var<workgroup> As: array<${V}, ${TM * TK}>;
var<workgroup> Bs: array<${V4}, ${(TK * TN) / 4}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let tx = l.x;
  let ty = l.y;
  let lid = ty * 16u + tx;
  let m0 = wid.y * ${TM}u;
  let n0 = wid.x * ${TN}u;
  var acc0 = ${V4}(${zero});
  var acc1 = ${V4}(${zero});
  var acc2 = ${V4}(${zero});
  var acc3 = ${V4}(${zero});
  for (var k0 = 0u; k0 < ${K}u; k0 += ${TK}u) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var k = 0u; k < ${TK}u; k++) {
      let bv = Bs[k * 16u + tx];
      ${rows.map(fmaRow).join('\n      ')}
    }
    workgroupBarrier();
  }
  let n = n0 + tx * 4u;
  ${store}
}
`;
  return { code, dispatch: [Math.ceil(N / TN), Math.ceil(M / TM)] };
}
