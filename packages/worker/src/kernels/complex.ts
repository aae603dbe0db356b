import {
  allocChunk,
  type Chunk,
  type ComplexKind,
  type ComplexParams,
  type Dtype,
  isWideData,
  lanes,
  type NumericArray,
  sizeOf,
  stridesOf,
} from '@tessera/protocol';
import { collapse } from './strided.js';

/**
 * numpy's functions of complex numbers, elementwise with broadcasting (the `complex` op). Values
 * are read as doubles (complex64 halves, every real dtype) and stored into the output's dtype,
 * so complex64 results are rounded once, from double arithmetic.
 */

interface Operand {
  /** Real values, or interleaved pairs when `pair`. */
  v: NumericArray;
  pair: boolean;
  /** Element strides over the domain (0 along broadcast axes). */
  strides: number[];
  domain: number[];
}

export function complexElementwise(p: ComplexParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const out = allocChunk(dtype, shape);
  const ops: Operand[] = inputs.map((x) => operand(x, p.domain));
  if (p.scalar !== undefined) {
    const s: Operand = { v: new Float64Array([p.scalar]), pair: false, strides: p.domain.map(() => 0), domain: [...p.domain] };
    if (p.scalarFirst) ops.unshift(s);
    else ops.push(s);
  }
  if (ops.length === 0 || ops.length > 2) throw new Error(`complex ${p.kind}: takes 1 or 2 operands, got ${ops.length}`);
  const a = ops[0]!, b = ops[1] ?? ops[0]!;
  if (flat(p.kind, a, b, out.data as NumericArray, sizeOf(p.domain), lanes(dtype) === 2)) return out;
  const { dims, strides } = collapse(p.domain, [a.strides, b.strides]);
  const [sa, sb] = strides as [number[], number[]];
  const n = dims.reduce((x, y) => x * y, 1);
  if (n === 0) return out;
  const r = dims.length;
  const last = r === 0 ? 1 : dims[r - 1]!;
  const la = r === 0 ? 0 : sa[r - 1]!, lb = r === 0 ? 0 : sb[r - 1]!;
  const idx = new Array<number>(Math.max(0, r - 1)).fill(0);
  const res = new Float64Array(2);
  const o = out.data as NumericArray;
  const pairOut = lanes(dtype) === 2;
  let oa = 0, ob = 0, i = 0;
  for (;;) {
    for (let j = 0, xa = oa, xb = ob; j < last; j++, xa += la, xb += lb, i++) {
      const ar = a.pair ? a.v[2 * xa]! : a.v[xa]!, ai = a.pair ? a.v[2 * xa + 1]! : 0;
      const br = b.pair ? b.v[2 * xb]! : b.v[xb]!, bi = b.pair ? b.v[2 * xb + 1]! : 0;
      apply(p.kind, ar, ai, br, bi, res);
      if (pairOut) {
        o[2 * i] = res[0]!;
        o[2 * i + 1] = res[1]!;
      } else o[i] = res[0]!;
    }
    let k = r - 2;
    for (; k >= 0; k--) {
      oa += sa[k]!;
      ob += sb[k]!;
      if (++idx[k]! < dims[k]!) break;
      oa -= sa[k]! * dims[k]!;
      ob -= sb[k]! * dims[k]!;
      idx[k] = 0;
    }
    if (k < 0) return out;
  }
}

/** Whether the operand is read at i (its whole own extent, the domain's) or is one value (a scalar). */
function step(o: Operand): number | undefined {
  if (o.strides.every((s) => s === 0)) return 0;
  const own = stridesOf(o.domain);
  return o.strides.every((s, a) => s === own[a] || o.domain[a] === 1) ? 1 : undefined;
}

/**
 * The common kinds over operands read in order (no broadcasting but scalars): one tight loop
 * each. False where the general loop must run.
 */
function flat(kind: ComplexKind, a: Operand, b: Operand, o: NumericArray, n: number, pairOut: boolean): boolean {
  const sa = step(a), sb = step(b);
  if (sa === undefined || sb === undefined) return false;
  const av = a.v, bv = b.v, ap = a.pair, bp = b.pair;
  const ar = (i: number): number => (ap ? av[2 * i * sa]! : av[i * sa]!);
  const ai = (i: number): number => (ap ? av[2 * i * sa + 1]! : 0);
  const br = (i: number): number => (bp ? bv[2 * i * sb]! : bv[i * sb]!);
  const bi = (i: number): number => (bp ? bv[2 * i * sb + 1]! : 0);
  switch (kind) {
    case 'abs':
      for (let i = 0; i < n; i++) {
        const x = ar(i), y = ai(i), q = x * x + y * y;
        // hypot's care only where the squares leave the range of doubles.
        o[i] = q < Infinity && q > 1e-290 ? Math.sqrt(q) : Math.hypot(x, y);
      }
      return true;
    case 'real':
      for (let i = 0; i < n; i++) o[i] = ar(i);
      return true;
    case 'imag':
      for (let i = 0; i < n; i++) o[i] = ai(i);
      return true;
    case 'angle':
      for (let i = 0; i < n; i++) o[i] = Math.atan2(ai(i), ar(i));
      return true;
    case 'conj':
    case 'astype':
    case 'negative': {
      const re = kind === 'negative' ? -1 : 1, im = kind === 'astype' ? 1 : -1;
      if (!pairOut) return false;
      for (let i = 0; i < n; i++) {
        o[2 * i] = re * ar(i);
        o[2 * i + 1] = im * ai(i);
      }
      return true;
    }
    case 'add':
    case 'subtract': {
      const g = kind === 'add' ? 1 : -1;
      for (let i = 0; i < n; i++) {
        o[2 * i] = ar(i) + g * br(i);
        o[2 * i + 1] = ai(i) + g * bi(i);
      }
      return true;
    }
    case 'multiply':
      for (let i = 0; i < n; i++) {
        const xr = ar(i), xi = ai(i), yr = br(i), yi = bi(i);
        o[2 * i] = xr * yr - xi * yi;
        o[2 * i + 1] = xr * yi + xi * yr;
      }
      return true;
    default:
      return false;
  }
}

function operand(x: Chunk, domain: readonly number[]): Operand {
  const off = domain.length - x.shape.length;
  const own = stridesOf(x.shape);
  const strides = domain.map((_, a) => (a < off || x.shape[a - off] === 1 ? 0 : own[a - off]!));
  // 64-bit integers as doubles, as numpy's complex128 holds them (rounded above 2^53).
  const v = isWideData(x.data) ? Float64Array.from(x.data, Number) : x.data;
  return { v, pair: lanes(x.dtype) === 2, strides, domain: [...domain] };
}

/** res = kind(a, b) as (re, im); real and bool results in res[0]. */
function apply(kind: ComplexKind, ar: number, ai: number, br: number, bi: number, res: Float64Array): void {
  let re: number, im = 0;
  switch (kind) {
    case 'conj': re = ar; im = -ai; break;
    case 'negative': re = -ar; im = -ai; break;
    case 'astype': re = ar; im = ai; break;
    case 'exp': {
      const e = Math.exp(ar);
      // exp(x + 0i) is real, as numpy's (no NaN from inf * sin(0)).
      if (ai === 0) { re = e; im = ai; } else { re = e * Math.cos(ai); im = e * Math.sin(ai); }
      break;
    }
    case 'log': re = Math.log(Math.hypot(ar, ai)); im = Math.atan2(ai, ar); break;
    case 'sqrt': [re, im] = sqrt(ar, ai); break;
    case 'square': re = ar * ar - ai * ai; im = 2 * ar * ai; break;
    case 'reciprocal': [re, im] = divide(1, 0, ar, ai); break;
    case 'sin': re = Math.sin(ar) * hyp(Math.cosh, ai, ar); im = Math.cos(ar) * Math.sinh(ai); break;
    case 'cos': re = Math.cos(ar) * Math.cosh(ai); im = -Math.sin(ar) * hyp(Math.sinh, ai, ar); break;
    case 'sinh': re = Math.sinh(ar) * Math.cos(ai); im = hyp(Math.cosh, ar, ai) * Math.sin(ai); break;
    case 'cosh': re = Math.cosh(ar) * Math.cos(ai); im = hyp(Math.sinh, ar, ai) * Math.sin(ai); break;
    case 'tanh': [re, im] = tanh(ar, ai); break;
    case 'tan': {
      // tan z = -i tanh(i z)
      const [p, q] = tanh(-ai, ar);
      [re, im] = [q, -p];
      break;
    }
    case 'power': [re, im] = power(ar, ai, br, bi); break;
    case 'real': re = ar; break;
    case 'imag': re = ai; break;
    case 'abs': re = Math.hypot(ar, ai); break;
    case 'angle': re = Math.atan2(ai, ar); break;
    case 'isnan': re = Number.isNaN(ar) || Number.isNaN(ai) ? 1 : 0; break;
    case 'isfinite': re = Number.isFinite(ar) && Number.isFinite(ai) ? 1 : 0; break;
    case 'add': re = ar + br; im = ai + bi; break;
    case 'subtract': re = ar - br; im = ai - bi; break;
    case 'multiply': re = ar * br - ai * bi; im = ar * bi + ai * br; break;
    case 'divide': [re, im] = divide(ar, ai, br, bi); break;
    case 'make': re = ar; im = br; break;
    case 'equal': re = ar === br && ai === bi ? 1 : 0; break;
    case 'not_equal': re = ar !== br || ai !== bi ? 1 : 0; break;
  }
  res[0] = re;
  res[1] = im;
}

/**
 * f(v) as the factor of a product whose other factor is exactly 0 when `zero` is: kept finite
 * there, so the product is a signed 0 (C99's csin(0 + iy), csinh(x + 0i)), not inf times 0.
 */
function hyp(f: (v: number) => number, v: number, zero: number): number {
  return zero === 0 && Number.isFinite(v) ? f(Math.max(-700, Math.min(700, v))) : f(v);
}

/** Kahan's tanh (as C99's ctanh): no overflow of cosh and sinh where |re| is large. */
function tanh(x: number, y: number): [number, number] {
  if (Math.abs(x) >= 22) {
    // tanh is ±1 to double precision there; the imaginary part is 4 sin y cos y e^(-2|x|).
    return [Math.sign(x), Number.isFinite(y) ? 4 * Math.sin(y) * Math.cos(y) * Math.exp(-2 * Math.abs(x)) : y === 0 ? y : NaN];
  }
  const t = Math.tan(y), beta = 1 + t * t, s = Math.sinh(x), rho = Math.sqrt(1 + s * s), denom = 1 + beta * s * s;
  return [(beta * rho * s) / denom, t / denom];
}

/**
 * numpy's complex power: 1 for a zero exponent, 0 for a zero base to a positive real one (NaN to
 * any other), products by binary powering for integer exponents below 100 in size (reciprocal
 * for negative ones), else exp(b log a).
 */
function power(ar: number, ai: number, br: number, bi: number): [number, number] {
  if (br === 0 && bi === 0) return [1, 0];
  if (ar === 0 && ai === 0) return br > 0 && bi === 0 ? [0, 0] : [NaN, NaN];
  if (bi === 0 && Number.isInteger(br) && Math.abs(br) < 100) {
    let n = Math.abs(br);
    let [pr, pi] = [1, 0];
    let [xr, xi] = [ar, ai];
    // numpy multiplies the running power by the base's squares, lowest bit first.
    for (let first = true; n > 0; n >>= 1) {
      if (n & 1) {
        if (first) [pr, pi] = [xr, xi];
        else [pr, pi] = [pr * xr - pi * xi, pr * xi + pi * xr];
        first = false;
      }
      if (n > 1) [xr, xi] = [xr * xr - xi * xi, 2 * xr * xi];
    }
    return br < 0 ? divide(1, 0, pr, pi) : [pr, pi];
  }
  const lr = Math.log(Math.hypot(ar, ai)), li = Math.atan2(ai, ar);
  const er = br * lr - bi * li, ei = br * li + bi * lr;
  const m = Math.exp(er);
  return [m * Math.cos(ei), m * Math.sin(ei)];
}

/** Smith's algorithm, as numpy's complex division: no overflow from squaring the divisor. */
function divide(ar: number, ai: number, br: number, bi: number): [number, number] {
  const abr = Math.abs(br), abi = Math.abs(bi);
  if (abr >= abi) {
    if (abr === 0 && abi === 0) return [ar / abr, ai / abr];
    const rat = bi / br, scl = 1 / (br + bi * rat);
    return [(ar + ai * rat) * scl, (ai - ar * rat) * scl];
  }
  const rat = br / bi, scl = 1 / (bi + br * rat);
  return [(ar * rat + ai) * scl, (ai * rat - ar) * scl];
}

/** The principal square root (C99's csqrt: a branch cut along the negative reals, the sign of a -0 imaginary part kept). */
function sqrt(ar: number, ai: number): [number, number] {
  if (ar === 0 && ai === 0) return [0, ai];
  if (ai === Infinity || ai === -Infinity) return [Infinity, ai];
  if (Number.isNaN(ar) || Number.isNaN(ai)) return [NaN, NaN];
  const t = Math.sqrt((Math.abs(ar) + Math.hypot(ar, ai)) / 2);
  if (ar >= 0) return [t, ai / (2 * t)];
  return [Math.abs(ai) / (2 * t), ai < 0 || Object.is(ai, -0) ? -t : t];
}
