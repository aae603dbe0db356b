import type { Dtype } from '@tessera/protocol';

/**
 * Pieces every generated shader shares: how each dtype is stored and held, literals, the
 * numpy-semantics helper functions, and the 64-bit integer arithmetic of the random generator.
 *
 * Storage (what a buffer holds):  float32 -> f32 (or f16 in mixed precision), int32 -> i32,
 * uint8 and bool -> u32 words of four bytes (little-endian, element i in byte i % 4 of word i / 4).
 * Values (what a shader computes in): float32 -> f32, int32 -> i32 (two's complement wrapping,
 * as numpy and the CPU kernels do), uint8 -> u32 kept in 0..255, bool -> u32 0 or 1.
 */

export type Storage = 'f32' | 'f16' | 'i32' | 'u8';
export type ValueType = 'f32' | 'i32' | 'u32';

export const WG = 256;

export function valueType(d: Dtype): ValueType {
  switch (d) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'uint8':
    case 'bool':
      return 'u32';
    default:
      throw new Error(`no GPU value type for ${d}`);
  }
}

export function storageOf(d: Dtype, f16: boolean): Storage {
  switch (d) {
    case 'float32':
      return f16 ? 'f16' : 'f32';
    case 'int32':
      return 'i32';
    case 'uint8':
    case 'bool':
      return 'u8';
    default:
      throw new Error(`no GPU storage for ${d}`);
  }
}

/** WGSL element type of a storage array. */
export function arrayElem(s: Storage): string {
  return s === 'u8' ? 'u32' : s;
}

/** Bytes a chunk of n elements takes on the device (a multiple of 4). */
export function storageBytes(s: Storage, n: number): number {
  const raw = s === 'u8' ? n : s === 'f16' ? 2 * n : 4 * n;
  return Math.ceil(raw / 4) * 4;
}

/** An exact f32 literal (bit pattern for NaN, infinities, -0 and subnormals). */
export function f32Lit(v: number): string {
  const x = Math.fround(v);
  const abs = Math.abs(x);
  if (!Number.isFinite(x) || Object.is(x, -0) || (abs > 0 && abs < 1.1754943508222875e-38)) {
    // OR-ed with a runtime zero: a constant NaN or infinity is a shader-creation error in WGSL.
    const b = new Uint32Array(new Float32Array([x]).buffer)[0]!;
    return `bitcast<f32>(0x${b.toString(16)}u | RZ)`;
  }
  let s = String(x);
  if (!/[.eE]/.test(s)) s += '.0';
  return `f32(${s})`;
}

export function i32Lit(v: number): string {
  return `i32(${v | 0})`;
}

export function u32Lit(v: number): string {
  return `${v >>> 0}u`;
}

/** A JS number as a literal of a value type, converted the way storing it in the dtype does. */
export function lit(d: Dtype, v: number): string {
  switch (d) {
    case 'float32':
      return f32Lit(v);
    case 'int32':
      return i32Lit(v);
    case 'uint8':
      return u32Lit(v & 255);
    case 'bool':
      return v !== 0 ? '1u' : '0u'; // NaN is true, as numpy's bool(nan)
    default:
      throw new Error(`no GPU literal for ${d}`);
  }
}

/** Convert a value expression between value types with the CPU's semantics (ToInt32, & 255). */
export function convert(expr: string, from: Dtype, to: Dtype): string {
  if (from === to) return expr;
  // A float is true unless it is ±0, NaN included: tested on the bits, which no compiler may assume away.
  if (to === 'bool') return from === 'float32' ? `select(0u, 1u, (bitcast<u32>(${expr}) & 0x7fffffffu) != 0u)` : `select(0u, 1u, ${expr} != ${from === 'int32' ? '0' : '0u'})`;
  if (to === 'float32') return `f32(${expr})`;
  if (to === 'int32') return from === 'float32' ? `f2i(${expr})` : `i32(${expr})`;
  if (to === 'uint8') return from === 'float32' ? `(bitcast<u32>(f2i(${expr})) & 255u)` : `(bitcast<u32>(${expr}) & 255u)`;
  throw new Error(`no GPU conversion to ${to}`);
}

/**
 * Helper functions, each included only when a shader uses it. numpy semantics where WGSL's
 * builtins differ: NaN-propagating maximum/minimum (NaN tested on the bits, which no compiler may
 * assume away), pow of a negative base with an integer exponent, ToInt32 float conversion
 * (truncate, wrap modulo 2^32, NaN and infinities to 0), integer power by squaring, an overflow-
 * free tanh, and a Cody-Waite reduction before sin and cos (GPU sin/cos lose accuracy far from 0).
 */
export const HELPERS: Record<string, { deps?: string[]; code: string }> = {
  isnanf: { code: 'fn isnanf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }' },
  // numpy: the sign of ±0 is 0 and of NaN NaN.
  signf: {
    // On the bits, with a zero the compiler cannot fold into sign() (which keeps -0).
    code: `fn signf(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return x; }
  if ((b & 0x7fffffffu) == 0u) { return bitcast<f32>(RZ); }
  return bitcast<f32>((b & 0x80000000u) | 0x3f800000u);
}`,
  },
  maxf: {
    deps: ['isnanf'],
    code: 'fn maxf(a: f32, b: f32) -> f32 { if (isnanf(a)) { return a; } if (isnanf(b)) { return b; } return select(b, a, a > b); }',
  },
  minf: {
    deps: ['isnanf'],
    code: 'fn minf(a: f32, b: f32) -> f32 { if (isnanf(a)) { return a; } if (isnanf(b)) { return b; } return select(b, a, a < b); }',
  },
  powf: {
    code: `fn powf(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  var r = exp2(y * log2(abs(x)));
  if (x < 0.0) {
    if (floor(y) != y) { return bitcast<f32>(0x7fc00000u | RZ); }
    if (abs(y) < 16777216.0 && (i32(y) & 1) != 0) { r = -r; }
  }
  return r;
}`,
  },
  f2i: {
    // numpy's cast on x86-64: NaN, the infinities and values outside int32 give int32's minimum.
    code: `fn f2i(v: f32) -> i32 {
  if (abs(v) < 2147483648.0) { return i32(v); }
  return bitcast<i32>(0x80000000u);
}`,
  },
  ipowi: {
    code: `fn ipowi(x: i32, e: i32) -> i32 {
  if (e < 0) {
    if (x == 1) { return 1; }
    if (x == -1) { return select(1, -1, (e & 1) != 0); }
    return 0;
  }
  var r = 1;
  var b = x;
  var k = e;
  loop {
    if (k == 0) { break; }
    if ((k & 1) != 0) { r = r * b; }
    b = b * b;
    k = k >> 1u;
  }
  return r;
}`,
  },
  ipowu: {
    code: `fn ipowu(x: u32, e: u32) -> u32 {
  var r = 1u;
  var b = x;
  var k = e;
  loop {
    if (k == 0u) { break; }
    if ((k & 1u) != 0u) { r = r * b; }
    b = b * b;
    k = k >> 1u;
  }
  return r;
}`,
  },
  tanhf: {
    code: `fn tanhf(x: f32) -> f32 {
  let ax = abs(x);
  var t: f32;
  if (ax < 0.0625) {
    let x2 = ax * ax;
    t = ax * (1.0 + x2 * (-0.33333333333 + x2 * 0.13333333333));
  } else {
    let e = exp(-2.0 * ax);
    t = (1.0 - e) / (1.0 + e);
  }
  return select(t, -t, x < 0.0);
}`,
  },
  reduce2pi: {
    code: `fn reduce2pi(x: f32) -> f32 {
  if (abs(x) <= 3.14159265) { return x; }
  let k = round(x * 0.159154943);
  return ((x - k * 6.28125) - k * 0.0019353071693331003) - k * 1.0253131677018246e-11;
}`,
  },
  sinf: { deps: ['reduce2pi'], code: 'fn sinf(x: f32) -> f32 { return sin(reduce2pi(x)); }' },
  cosf: { deps: ['reduce2pi'], code: 'fn cosf(x: f32) -> f32 { return cos(reduce2pi(x)); }' },
  // 64-bit unsigned integers as vec2<u32>(low, high) for SplitMix64.
  mulw: {
    code: `fn mulw(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}`,
  },
  add64: {
    code: `fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}`,
  },
  mul64: {
    deps: ['mulw'],
    code: `fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let p = mulw(a.x, b.x);
  return vec2<u32>(p.x, p.y + a.x * b.y + a.y * b.x);
}`,
  },
  mix64: {
    deps: ['mul64'],
    code: `fn xs64(z: vec2<u32>, s: u32) -> vec2<u32> {
  return vec2<u32>(z.x ^ ((z.x >> s) | (z.y << (32u - s))), z.y ^ (z.y >> s));
}
fn mix64(z0: vec2<u32>) -> vec2<u32> {
  let z1 = mul64(xs64(z0, 30u), vec2<u32>(0x1ce4e5b9u, 0xbf58476du));
  let z2 = mul64(xs64(z1, 27u), vec2<u32>(0x133111ebu, 0x94d049bbu));
  return xs64(z2, 31u);
}`,
  },
  // u(g) = (mix64(key + (g + 1) * GAMMA) >> 11) / 2^53, kept to its top 24 bits (always < 1).
  uniform01: {
    deps: ['mix64', 'add64'],
    code: `fn uniform01(key: vec2<u32>, g: vec2<u32>) -> f32 {
  let z = mix64(add64(key, mul64(add64(g, vec2<u32>(1u, 0u)), vec2<u32>(0x7f4a7c15u, 0x9e3779b9u))));
  return f32(z.y >> 8u) * 5.9604644775390625e-8;
}`,
  },
  // 1 - u(g), to full float32 relative precision even when it is tiny (the tail of Box-Muller's
  // log): from the complement of the 53 bits, 2^53 - (z >> 11) = ((~z) >> 11) + 1.
  uniform01c: {
    deps: ['mix64', 'add64'],
    code: `fn uniform01c(key: vec2<u32>, g: vec2<u32>) -> f32 {
  let z = mix64(add64(key, mul64(add64(g, vec2<u32>(1u, 0u)), vec2<u32>(0x7f4a7c15u, 0x9e3779b9u))));
  let hi = f32(~z.y) * 2.3283064365386963e-10;
  let lo = f32((~z.x) >> 11u) * 5.421010862427522e-20 * 2048.0;
  return hi + lo + 1.1102230246251565e-16;
}`,
  },
};

/** Every shader declares RZ, a zero the compiler cannot see through at shader creation. */
export const PRELUDE = 'var<private> RZ: u32 = 0u;';

/** The code of some helpers and everything they use, each once, dependencies first. */
export function helperCode(names: Iterable<string>): string {
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (n: string): void => {
    if (done.has(n)) return;
    done.add(n);
    const h = HELPERS[n];
    if (!h) throw new Error(`unknown WGSL helper ${n}`);
    for (const d of h.deps ?? []) visit(d);
    out.push(h.code);
  };
  for (const n of names) visit(n);
  return out.join('\n');
}

/** SplitMix64 key of a random stream, as the CPU generator derives it: mix64(seed | (stream + 1) << 32). */
export function streamKey(seed: number, stream: number): [number, number] {
  const M64 = (1n << 64n) - 1n;
  let z = BigInt(seed) | (BigInt(stream + 1) << 32n);
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  z = z ^ (z >> 31n);
  return [Number(z & 0xffffffffn), Number(z >> 32n)];
}

/** A u64 constant as a WGSL vec2<u32>(low, high). */
export function u64Lit(v: number): string {
  const lo = v % 2 ** 32;
  const hi = Math.floor(v / 2 ** 32);
  return `vec2<u32>(${lo >>> 0}u, ${hi >>> 0}u)`;
}

/**
 * Numbers that differ from chunk to chunk of one array (random streams' keys and global offsets,
 * arange starts, a distribution's parameters) go to the kernel in a small storage buffer `prm`
 * instead of into its source: every chunk of an array then runs the same shader (one compile).
 */
export class Params {
  readonly words: number[] = [];

  u32(v: number): string {
    this.words.push(v >>> 0);
    return `prm[${this.words.length - 1}u]`;
  }

  f32(v: number): string {
    const bits = new Uint32Array(new Float32Array([v]).buffer)[0]!;
    return `bitcast<f32>(${this.u32(bits)})`;
  }

  i32(v: number): string {
    return `bitcast<i32>(${this.u32(v | 0)})`;
  }

  u64(v: number): string {
    return `vec2<u32>(${this.u32(v % 2 ** 32)}, ${this.u32(Math.floor(v / 2 ** 32))})`;
  }

  pair(w: readonly [number, number]): string {
    return `vec2<u32>(${this.u32(w[0])}, ${this.u32(w[1])})`;
  }

  /** The binding line, when there is anything to pass. */
  binding(at: number): string {
    return this.words.length ? `@group(0) @binding(${at}) var<storage, read> prm: array<u32>;` : '';
  }

  data(): Uint32Array | undefined {
    return this.words.length ? Uint32Array.from(this.words) : undefined;
  }
}

/** Workgroups for `threads` threads of WG each, as a 2-D grid within the per-dimension limit. */
export function grid(threads: number, maxPerDim: number, wg = WG): [number, number] {
  const groups = Math.max(1, Math.ceil(threads / wg));
  const x = Math.min(groups, maxPerDim);
  return [x, Math.ceil(groups / x)];
}

/** Decompose a flat index over dims (C order) into per-axis index expressions; dims baked in. */
export function decompose(flat: string, dims: readonly number[], prefix: string): { code: string; idx: string[] } {
  const lines: string[] = [];
  const idx: string[] = [];
  let inner = 1;
  const products: number[] = new Array(dims.length);
  for (let k = dims.length - 1; k >= 0; k--) {
    products[k] = inner;
    inner *= dims[k]!;
  }
  dims.forEach((d, k) => {
    const p = products[k]!;
    let e = p === 1 ? flat : `(${flat} / ${p}u)`;
    if (k > 0) e = `(${e} % ${d}u)`;
    const name = `${prefix}${k}`;
    lines.push(`let ${name} = ${e};`);
    idx.push(name);
  });
  return { code: lines.join('\n  '), idx };
}

/** base + sum idx[k] * strides[k] as a u32 expression (terms with stride 0 dropped). */
export function offsetExpr(base: number, idx: readonly string[], strides: readonly number[]): string {
  const terms: string[] = [];
  if (base !== 0) terms.push(`${base}u`);
  strides.forEach((s, k) => {
    if (s === 0) return;
    terms.push(s === 1 ? idx[k]! : `${idx[k]} * ${s}u`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

/** The same as a u64 vec2 (global indices of random sources may pass 2^32); `base` a number or a vec2 expression. */
export function offset64Expr(base: number | string, idx: readonly string[], strides: readonly number[]): string {
  let e = typeof base === 'string' ? base : u64Lit(base);
  strides.forEach((s, k) => {
    if (s === 0) return;
    e = `add64(${e}, mulw(${idx[k]}, ${s >>> 0}u))`;
  });
  return e;
}
