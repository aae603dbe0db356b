/**
 * 1-d FFTs in TypeScript: the fall back where FFTW (native/fftw.cc) is not built. Complex data is
 * interleaved (re, im, ...); the transformed axis is the middle one of a C-order [outer, n, inner].
 * Unnormalised both ways, as FFTW: inverse uses e^{+2πi jk/n} and does not divide by n.
 *
 * Powers of two run an iterative radix-4 (plus one radix-2 pass for odd log2 n); every other length
 * runs Bluestein's chirp-z, a convolution on a power of two m ≥ 2n - 1: three FFTs of m, 10-25x
 * the time of a power of two near n (256 lanes of n = 4096: 20 ms, 3000: 190 ms, 4097: 470 ms).
 * Real transforms of even n pack the real lane as a complex one of n/2 (half the work).
 * Lanes are gathered, `lanes` at a time, into split re/im scratch laid out [k][lane], so strided
 * lanes (inner > 1) are read a cache line at a time and every butterfly runs over a lane block.
 * Arithmetic is float64 whatever the array (a Float32Array is rounded once, on the way out); each
 * twiddle is its own Math.cos/sin, so the error is ~1e-16 · log2 n relative to the largest value.
 */

export type FloatData = Float64Array | Float32Array;

interface Pow2Plan {
  kind: 'pow2';
  n: number;
  /** Where input k goes: its bit reversal, so that gathering a lane also permutes it. */
  order: Int32Array;
  /** Twiddles e^{-iπj/h} of the radix-2 pass of half-size h at [h - 1 + j]; cos and sin (positive). */
  cos: Float64Array;
  sin: Float64Array;
}

interface ChirpPlan {
  kind: 'chirp';
  n: number;
  m: Pow2Plan;
  /** The identity: a chirp transform reads its input in order. */
  order: Int32Array;
  /** The chirp w_k = e^{-iπk²/n}, k < n. */
  wr: Float64Array;
  wi: Float64Array;
  /** FFT_m of the kernel conj(w_|k|), divided by m (the inverse FFT's scale folded in). */
  br: Float64Array;
  bi: Float64Array;
}

type ComplexPlan = Pow2Plan | ChirpPlan;

/** Even n only: the n/2 complex plan and e^{-2πik/n}, k ≤ n/2, to untangle its result. */
interface RealPlan {
  half: ComplexPlan;
  cos: Float64Array;
  sin: Float64Array;
}

// Plans by n, a few of each: a chunked FFT asks for the same n over and over.
const maxPlans = 16;
const complexPlans = new Map<number, ComplexPlan>();
const realPlans = new Map<number, RealPlan>();

function cached<P>(plans: Map<number, P>, n: number, make: (n: number) => P): P {
  let p = plans.get(n);
  if (p) return p;
  p = make(n);
  if (plans.size >= maxPlans) plans.delete(plans.keys().next().value!);
  plans.set(n, p);
  return p;
}

function pow2Plan(n: number): Pow2Plan {
  const bits = 31 - Math.clz32(n);
  const rev = new Int32Array(n);
  for (let i = 1; i < n; i++) rev[i] = (rev[i >> 1]! >> 1) | ((i & 1) << (bits - 1));
  const cos = new Float64Array(Math.max(1, n - 1)), sin = new Float64Array(Math.max(1, n - 1));
  for (let h = 1; h < n; h <<= 1)
    for (let j = 0; j < h; j++) {
      cos[h - 1 + j] = Math.cos((Math.PI * j) / h);
      sin[h - 1 + j] = Math.sin((Math.PI * j) / h);
    }
  return { kind: 'pow2', n, order: rev, cos, sin };
}

function chirpPlan(n: number): ChirpPlan {
  let size = 1;
  while (size < 2 * n - 1) size *= 2;
  const m = cached(complexPlans, size, pow2Plan) as Pow2Plan;
  const wr = new Float64Array(n), wi = new Float64Array(n);
  // k² mod 2n, kept exact in integers, so the angle stays small and accurate for any k.
  for (let k = 0, q = 0; k < n; k++, q = (q + 2 * k - 1) % (2 * n)) {
    wr[k] = Math.cos((Math.PI * q) / n);
    wi[k] = -Math.sin((Math.PI * q) / n);
  }
  const br = new Float64Array(size), bi = new Float64Array(size);
  for (let k = 0; k < n; k++) {
    br[k] = wr[k]! / size;
    bi[k] = -wi[k]! / size;
    if (k > 0) {
      br[size - k] = br[k]!;
      bi[size - k] = bi[k]!;
    }
  }
  pow2(m, br, bi, 1, -1);
  return { kind: 'chirp', n, m, order: Int32Array.from({ length: n }, (_, k) => k), wr, wi, br, bi };
}

const complexPlan = (n: number): ComplexPlan => cached(complexPlans, n, (k) => ((k & (k - 1)) === 0 ? pow2Plan(k) : chirpPlan(k)));

function realPlan(n: number): RealPlan {
  return cached(realPlans, n, () => {
    const h = n / 2, cos = new Float64Array(h + 1), sin = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      cos[k] = Math.cos((2 * Math.PI * k) / n);
      sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    return { half: complexPlan(h), cos, sin };
  });
}

/**
 * In place on b lanes of a power-of-two length laid out [k][lane] (re[k*b + t]); sign -1 forward,
 * +1 inverse; `permuted`: the input already sits in bit-reversed order (p.order), as gathers leave
 * it. Radix-4 passes after one radix-2 pass where log2 n is odd (each radix-4 pass is two radix-2
 * ones fused: half the trips through memory).
 */
function pow2(p: Pow2Plan, re: Float64Array, im: Float64Array, b: number, sign: number, permuted = false): void {
  const { n, order: rev, cos, sin } = p;
  for (let i = 1; i < n && !permuted; i++) {
    const j = rev[i]!;
    if (j <= i) continue;
    for (let t = 0, x = i * b, y = j * b; t < b; t++, x++, y++) {
      const r = re[x]!, s = im[x]!;
      re[x] = re[y]!;
      im[x] = im[y]!;
      re[y] = r;
      im[y] = s;
    }
  }
  let h = 1;
  if ((31 - Math.clz32(n)) % 2 === 1) {
    // The twiddle-free radix-2 pass.
    for (let x = 0; x < n * b; x += 2 * b)
      for (let t = x, y = x + b; t < x + b; t++, y++) {
        const ar = re[t]!, ai = im[t]!, cr = re[y]!, ci = im[y]!;
        re[t] = ar + cr;
        im[t] = ai + ci;
        re[y] = ar - cr;
        im[y] = ai - ci;
      }
    h = 2;
  }
  if (b === 1) return radix4One(n, re, im, cos, sin, h, sign);
  // Radix-4 on quarters of size h: x0..x3 at j, j+h, j+2h, j+3h; the two radix-2 passes of half
  // sizes h and 2h fused, with the twiddles w1 = W_{2h}^j (first pass) and w2 = W_{4h}^j, w3 = W_{4h}^{j+h}.
  for (; h < n; h *= 4) {
    const o1 = h - 1, o2 = 2 * h - 1;
    for (let j = 0; j < h; j++) {
      const w1r = cos[o1 + j]!, w1i = sign * sin[o1 + j]!;
      const w2r = cos[o2 + j]!, w2i = sign * sin[o2 + j]!;
      for (let base = j * b; base < n * b; base += 4 * h * b) {
        for (let x0 = base, end = base + b; x0 < end; x0++) {
          const x1 = x0 + h * b, x2 = x1 + h * b, x3 = x2 + h * b;
          // First pass: (x0, x1) and (x2, x3), each with w1.
          const a1r = w1r * re[x1]! - w1i * im[x1]!, a1i = w1r * im[x1]! + w1i * re[x1]!;
          const a3r = w1r * re[x3]! - w1i * im[x3]!, a3i = w1r * im[x3]! + w1i * re[x3]!;
          const y0r = re[x0]! + a1r, y0i = im[x0]! + a1i, y1r = re[x0]! - a1r, y1i = im[x0]! - a1i;
          const y2r = re[x2]! + a3r, y2i = im[x2]! + a3i, y3r = re[x2]! - a3r, y3i = im[x2]! - a3i;
          // Second pass: (y0, y2) with w2, (y1, y3) with w2 · W_4 (sign · i).
          const b2r = w2r * y2r - w2i * y2i, b2i = w2r * y2i + w2i * y2r;
          const c3r = w2r * y3r - w2i * y3i, c3i = w2r * y3i + w2i * y3r;
          const b3r = -sign * c3i, b3i = sign * c3r;
          re[x0] = y0r + b2r;
          im[x0] = y0i + b2i;
          re[x2] = y0r - b2r;
          im[x2] = y0i - b2i;
          re[x1] = y1r + b3r;
          im[x1] = y1i + b3i;
          re[x3] = y1r - b3r;
          im[x3] = y1i - b3i;
        }
      }
    }
  }
}

/** pow2's radix-4 passes for one lane: the same arithmetic without the lane loop (a third faster). */
function radix4One(n: number, re: Float64Array, im: Float64Array, cos: Float64Array, sin: Float64Array, h: number, sign: number): void {
  for (; h < n; h *= 4) {
    const o1 = h - 1, o2 = 2 * h - 1;
    for (let j = 0; j < h; j++) {
      const w1r = cos[o1 + j]!, w1i = sign * sin[o1 + j]!;
      const w2r = cos[o2 + j]!, w2i = sign * sin[o2 + j]!;
      for (let x0 = j; x0 < n; x0 += 4 * h) {
        const x1 = x0 + h, x2 = x1 + h, x3 = x2 + h;
        const r0 = re[x0]!, i0 = im[x0]!, r1 = re[x1]!, i1 = im[x1]!, r2 = re[x2]!, i2 = im[x2]!, r3 = re[x3]!, i3 = im[x3]!;
        const a1r = w1r * r1 - w1i * i1, a1i = w1r * i1 + w1i * r1;
        const a3r = w1r * r3 - w1i * i3, a3i = w1r * i3 + w1i * r3;
        const y0r = r0 + a1r, y0i = i0 + a1i, y1r = r0 - a1r, y1i = i0 - a1i;
        const y2r = r2 + a3r, y2i = i2 + a3i, y3r = r2 - a3r, y3i = i2 - a3i;
        const b2r = w2r * y2r - w2i * y2i, b2i = w2r * y2i + w2i * y2r;
        const c3r = w2r * y3r - w2i * y3i, c3i = w2r * y3i + w2i * y3r;
        const b3r = -sign * c3i, b3i = sign * c3r;
        re[x0] = y0r + b2r;
        im[x0] = y0i + b2i;
        re[x2] = y0r - b2r;
        im[x2] = y0i - b2i;
        re[x1] = y1r + b3r;
        im[x1] = y1i + b3i;
        re[x3] = y1r - b3r;
        im[x3] = y1i - b3i;
      }
    }
  }
}

// Scratch by slot, grown as needed: 0, 1 the gathered lanes; 2, 3 Bluestein's convolution.
const scratch: (Float64Array | undefined)[] = [];
function buffer(slot: number, length: number): Float64Array {
  let s = scratch[slot];
  if (!s || s.length < length) scratch[slot] = s = new Float64Array(length);
  return s;
}

/** After a call: a worker thread lives long, so it keeps no scratch past 1 MiB a slot (one huge lane). */
function trim(): void {
  scratch.forEach((s, i) => {
    if (s && s.length > 1 << 17) scratch[i] = undefined;
  });
}

/** Bluestein: X_j = w_j Σ_k (x_k w_k) conj(w_{j-k}), the sum a convolution done by FFT_m. */
function chirp(p: ChirpPlan, re: Float64Array, im: Float64Array, b: number, sign: number): void {
  const { n, wr, wi, br, bi } = p, m = p.m.n;
  const ar = buffer(2, m * b), ai = buffer(3, m * b);
  // The inverse is the conjugate of the forward transform of the conjugate.
  for (let k = 0; k < n; k++)
    for (let t = 0, x = k * b; t < b; t++, x++) {
      const xr = re[x]!, xi = sign * -im[x]!;
      ar[x] = xr * wr[k]! - xi * wi[k]!;
      ai[x] = xr * wi[k]! + xi * wr[k]!;
    }
  ar.fill(0, n * b, m * b);
  ai.fill(0, n * b, m * b);
  pow2(p.m, ar, ai, b, -1);
  for (let k = 0; k < m; k++)
    for (let t = 0, x = k * b; t < b; t++, x++) {
      const xr = ar[x]!, xi = ai[x]!;
      ar[x] = xr * br[k]! - xi * bi[k]!;
      ai[x] = xr * bi[k]! + xi * br[k]!;
    }
  pow2(p.m, ar, ai, b, 1);
  for (let k = 0; k < n; k++)
    for (let t = 0, x = k * b; t < b; t++, x++) {
      const xr = ar[x]!, xi = ai[x]!;
      re[x] = xr * wr[k]! - xi * wi[k]!;
      im[x] = sign * -(xr * wi[k]! + xi * wr[k]!);
    }
}

/** The transform of lanes gathered in p.order. */
function transform(p: ComplexPlan, re: Float64Array, im: Float64Array, b: number, sign: number): void {
  if (p.kind === 'pow2') pow2(p, re, im, b, sign, true);
  else chirp(p, re, im, b, sign);
}

/** Lanes per block: up to 16 contiguous ones (four cache lines of each row), scratch ≤ 64K complex (1 MiB: L2). */
function lanes(length: number, inner: number): number {
  return inner === 1 ? 1 : Math.max(1, Math.min(inner, 16, Math.floor(65536 / length)));
}

function check(what: string, array: FloatData, need: number, n: number, outer: number, inner: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(outer) || outer < 0 || !Number.isInteger(inner) || inner < 0)
    throw new RangeError(`fft: n must be a positive integer and outer, inner non-negative ones (got n ${n}, outer ${outer}, inner ${inner})`);
  if (array.length < need) throw new RangeError(`fft: the ${what} holds ${array.length} values, its shape needs ${need}`);
}

/** Complex k of lane t (data[base + k*stride + 2t], interleaved) into slot at[k] of the scratch. */
function gather(data: FloatData, base: number, stride: number, n: number, b: number, at: Int32Array, re: Float64Array, im: Float64Array): void {
  if (b === 1)
    for (let k = 0, s = base; k < n; k++, s += stride) {
      const x = at[k]!;
      re[x] = data[s]!;
      im[x] = data[s + 1]!;
    }
  else
    for (let k = 0; k < n; k++)
      for (let t = 0, x = at[k]! * b, s = base + k * stride; t < b; t++, x++, s += 2) {
        re[x] = data[s]!;
        im[x] = data[s + 1]!;
      }
}

/** The scratch's first n complex back to the layout gather read, in order. */
function scatter(data: FloatData, base: number, stride: number, n: number, b: number, re: Float64Array, im: Float64Array): void {
  if (b === 1)
    for (let k = 0, s = base; k < n; k++, s += stride) {
      data[s] = re[k]!;
      data[s + 1] = im[k]!;
    }
  else
    for (let k = 0; k < n; k++)
      for (let t = 0, x = k * b, s = base + k * stride; t < b; t++, x++, s += 2) {
        data[s] = re[x]!;
        data[s + 1] = im[x]!;
      }
}

const workLength = (p: ComplexPlan): number => (p.kind === 'pow2' ? p.n : p.m.n);

/** Complex-to-complex along the middle axis of a C-order complex array of shape [outer, n, inner], in place. Unnormalised (inverse=true uses e^{+2πi jk/n} and does NOT divide by n). */
export function fftAxis(data: FloatData, outer: number, n: number, inner: number, inverse: boolean): void {
  check('data', data, 2 * outer * n * inner, n, outer, inner);
  const p = complexPlan(n), sign = inverse ? 1 : -1, at = p.order;
  const B = lanes(workLength(p), inner), re = buffer(0, n * B), im = buffer(1, n * B);
  for (let o = 0; o < outer; o++)
    for (let i0 = 0; i0 < inner; i0 += B) {
      const b = Math.min(B, inner - i0), base = 2 * (o * n * inner + i0);
      gather(data, base, 2 * inner, n, b, at, re, im);
      transform(p, re, im, b, sign);
      scatter(data, base, 2 * inner, n, b, re, im);
    }
  trim();
}

/** Real-to-complex: input real [outer, n, inner] (not interleaved), output complex [outer, n/2+1 (floor), inner] interleaved. Unnormalised forward. */
export function rfftAxis(input: FloatData, output: FloatData, outer: number, n: number, inner: number): void {
  const bins = Math.floor(n / 2) + 1;
  check('input', input, outer * n * inner, n, outer, inner);
  check('output', output, 2 * outer * bins * inner, n, outer, inner);
  const even = n % 2 === 0, rp = even ? realPlan(n) : undefined, p = rp ? rp.half : complexPlan(n), at = p.order;
  const len = even ? n / 2 : n, B = lanes(workLength(p), inner), re = buffer(0, len * B), im = buffer(1, len * B);
  for (let o = 0; o < outer; o++)
    for (let i0 = 0; i0 < inner; i0 += B) {
      const b = Math.min(B, inner - i0), src = o * n * inner + i0, dst = 2 * (o * bins * inner + i0);
      // Even n: z_j = x_2j + i x_2j+1; odd n: the lane as a complex one.
      for (let k = 0; k < len; k++)
        for (let t = 0, x = at[k]! * b; t < b; t++, x++) {
          re[x] = input[src + (even ? 2 * k : k) * inner + t]!;
          im[x] = even ? input[src + (2 * k + 1) * inner + t]! : 0;
        }
      transform(p, re, im, b, -1);
      if (!rp) {
        for (let k = 0; k < bins; k++)
          for (let t = 0, x = k * b, s = dst + 2 * k * inner; t < b; t++, x++, s += 2) {
            output[s] = re[x]!;
            output[s + 1] = im[x]!;
          }
        continue;
      }
      // X_k = E_k + W^k O_k, E = (Z_k + conj Z_{h-k}) / 2, O = (Z_k - conj Z_{h-k}) / 2i, W = e^{-2πi/n}.
      const h = len;
      for (let k = 0; k <= h; k++) {
        const c = rp.cos[k]!, s = rp.sin[k]!, kk = (k % h) * b, kc = ((h - k) % h) * b;
        for (let t = 0, d = dst + 2 * k * inner; t < b; t++, d += 2) {
          const zr = re[kk + t]!, zi = im[kk + t]!, yr = re[kc + t]!, yi = -im[kc + t]!;
          const er = (zr + yr) / 2, ei = (zi + yi) / 2, or = (zi - yi) / 2, oi = -(zr - yr) / 2;
          output[d] = er + c * or + s * oi;
          output[d + 1] = ei + c * oi - s * or;
        }
      }
    }
  trim();
}

/** Complex-to-real: input complex [outer, floor(n/2)+1, inner] interleaved (Hermitian half, as numpy.fft.irfft reads it: the imaginary parts of bin 0 and, for even n, bin n/2 are ignored), output real [outer, n, inner]. Unnormalised (no 1/n). The input is not modified. */
export function irfftAxis(input: FloatData, output: FloatData, outer: number, n: number, inner: number): void {
  const bins = Math.floor(n / 2) + 1;
  check('input', input, 2 * outer * bins * inner, n, outer, inner);
  check('output', output, outer * n * inner, n, outer, inner);
  const even = n % 2 === 0, rp = even ? realPlan(n) : undefined, p = rp ? rp.half : complexPlan(n), at = p.order;
  const len = even ? n / 2 : n, B = lanes(workLength(p), inner), re = buffer(0, len * B), im = buffer(1, len * B);
  for (let o = 0; o < outer; o++)
    for (let i0 = 0; i0 < inner; i0 += B) {
      const b = Math.min(B, inner - i0), src = 2 * (o * bins * inner + i0), dst = o * n * inner + i0;
      // Bin k's imaginary part, zero where numpy ignores it.
      const imag = (k: number, t: number): number => (k === 0 || (even && k === bins - 1) ? 0 : input[src + 2 * (k * inner + t) + 1]!);
      if (rp) {
        // Z_k = (X_k + conj X_{h-k}) + i W^{-k} (X_k - conj X_{h-k}): the packed half-length spectrum, times 2.
        const h = len;
        for (let k = 0; k < h; k++) {
          const c = rp.cos[k]!, s = rp.sin[k]!;
          for (let t = 0, x = at[k]! * b; t < b; t++, x++) {
            const ar = input[src + 2 * (k * inner + t)]!, ai = imag(k, t);
            const yr = input[src + 2 * ((h - k) * inner + t)]!, yi = -imag(h - k, t);
            const dr = ar - yr, di = ai - yi, qr = c * dr - s * di, qi = c * di + s * dr;
            re[x] = ar + yr - qi;
            im[x] = ai + yi + qr;
          }
        }
      } else {
        // Odd n: the whole Hermitian spectrum, X_{n-k} = conj X_k.
        for (let k = 0; k < bins; k++)
          for (let t = 0; t < b; t++) {
            const xr = input[src + 2 * (k * inner + t)]!, xi = imag(k, t);
            re[at[k]! * b + t] = xr;
            im[at[k]! * b + t] = xi;
            if (k > 0) {
              re[at[n - k]! * b + t] = xr;
              im[at[n - k]! * b + t] = -xi;
            }
          }
      }
      transform(p, re, im, b, 1);
      for (let k = 0; k < len; k++)
        for (let t = 0, x = k * b; t < b; t++, x++) {
          if (rp) {
            output[dst + 2 * k * inner + t] = re[x]!;
            output[dst + (2 * k + 1) * inner + t] = im[x]!;
          } else output[dst + k * inner + t] = re[x]!;
        }
    }
  trim();
}
