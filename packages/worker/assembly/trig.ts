// sin and cos of float64 values, two at a time (f64x2), for |x| < 2^30; other lanes (large,
// Inf, NaN) are returned unchanged and counted, and the caller recomputes them with Math.sin /
// Math.cos (exactly V8's results there; they are rare).
//
// Method (fdlibm's, vectorised): n = round(x * 2/pi); r = x - n * pi/2 as a double-double
// (hi, lo), pi/2 split in three 23-bit parts (n * Pk is exact for |n| < 2^30, and the first two
// subtractions are exact) plus a 53-bit tail (about 122 bits of pi/2 in all); then fdlibm's __kernel_sin / __kernel_cos
// minimax polynomials on [-pi/4, pi/4] with the lo correction; the quadrant n mod 4 picks
// sin or cos of r and the sign with bit operations, no branches.

const TWO_OVER_PI = 0.6366197723675814;
const MAGIC = 6755399441055744.0; // 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits
const P1 = 1.570796251296997; // 0x1.921fb4p+0
const P2 = 7.549789415861596e-8; // 0x1.4442dp-24
const P3 = 5.390302529957765e-15; // 0x1.846988p-48
const P4 = 3.2820035428735005e-22; // 0x1.8cc51701b839ap-72
const LIMIT = 1073741824.0; // 2^30

// fdlibm k_sin.c / k_cos.c
const S1 = -1.66666666666666324348e-1, S2 = 8.33333333332248946124e-3, S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6, S5 = -2.50507602534068634195e-8, S6 = 1.58969099521155010221e-10;
const C1 = 4.16666666666666019037e-2, C2 = -1.38888888888741095749e-3, C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7, C5 = 2.08757232129817482790e-9, C6 = -1.13596475577881948265e-11;

// The constants, each twice (one v128 per constant), in linear memory: V8 builds a v128.const
// from immediates with several instructions at every use, while a load from this table is one.
const K = memory.data<f64>([
  TWO_OVER_PI, TWO_OVER_PI,
  MAGIC, MAGIC,
  P1, P1,
  P2, P2,
  P3, P3,
  P4, P4,
  LIMIT, LIMIT,
  S1, S1,
  S2, S2,
  S3, S3,
  S4, S4,
  S5, S5,
  S6, S6,
  C1, C1,
  C2, C2,
  C3, C3,
  C4, C4,
  C5, C5,
  C6, C6,
  0.5, 0.5,
  1.0, 1.0
]);

// @ts-ignore: decorator
@inline function spl(i: i32): v128 {
  return v128.load(K + (<usize>i << 4));
}

/**
 * Both kernels of two lanes: after argument reduction, the sin polynomial (sv) and the cos
 * polynomial (cv) of r, and the integer n (in t's low bits) that picks between them.
 */
// @ts-ignore: decorator
@inline function quadrant(q: v128, sv: v128, cv: v128): v128 {
  // sin(x) by q = n mod 4: +sin r, +cos r, -sin r, -cos r  (cos(x) is the same with q = n + 1).
  const odd = i64x2.eq(v128.and(q, i64x2.splat(1)), i64x2.splat(1));
  const sign = i64x2.shl(i64x2.shr_u(q, 1), 63);
  return v128.xor(v128.bitselect(cv, sv, odd), sign);
}

/**
 * sin into dstS and/or cos into dstC (compile-time flags after inlining) of n values at src.
 * Lanes with |x| >= 2^30 or NaN are stored as x; returns nonzero when there were any.
 */
// @ts-ignore: decorator
@inline function run(src: usize, dstS: usize, dstC: usize, n: i32, doSin: bool, doCos: bool): i32 {
  let bad = 0;
  for (let i = 0; i < n; i += 2) {
    const off = <usize>i << 3;
    // An odd last element is computed in both lanes and stored once.
    const last = i + 1 == n;
    const x = last ? f64x2.splat(load<f64>(src + off)) : v128.load(src + off);

    const t = f64x2.add(f64x2.mul(x, spl(0 /* TWO_OVER_PI */)), spl(1 /* MAGIC */));
    const nn = f64x2.sub(t, spl(1 /* MAGIC */));
    const t2 = f64x2.sub(f64x2.sub(x, f64x2.mul(nn, spl(2 /* P1 */))), f64x2.mul(nn, spl(3 /* P2 */)));
    // (hi, lo) = t2 - n*P3 - n*P4 with two Fast2Sums: n*P3 is exact, and keeping its subtraction
    // separate keeps r accurate when it nearly cancels (x near a multiple of pi/2).
    const p3 = f64x2.mul(nn, spl(4 /* P3 */));
    const p4 = f64x2.mul(nn, spl(5 /* P4 */));
    const a = f64x2.sub(t2, p3);
    const ea = f64x2.sub(f64x2.sub(t2, a), p3);
    const hi = f64x2.sub(a, p4);
    const lo = f64x2.add(f64x2.sub(f64x2.sub(a, hi), p4), ea);

    const z = f64x2.mul(hi, hi);
    const w = f64x2.mul(z, z);
    // __kernel_sin(hi, lo, 1)
    const sr = f64x2.add(
      f64x2.add(spl(8 /* S2 */), f64x2.mul(z, f64x2.add(spl(9 /* S3 */), f64x2.mul(z, spl(10 /* S4 */))))),
      f64x2.mul(f64x2.mul(z, w), f64x2.add(spl(11 /* S5 */), f64x2.mul(z, spl(12 /* S6 */)))),
    );
    const v = f64x2.mul(z, hi);
    const sv = f64x2.sub(hi, f64x2.sub(
      f64x2.sub(f64x2.mul(z, f64x2.sub(f64x2.mul(spl(19 /* 0.5 */), lo), f64x2.mul(v, sr))), lo),
      f64x2.mul(v, spl(7 /* S1 */)),
    ));
    // __kernel_cos(hi, lo)
    const cr = f64x2.add(
      f64x2.mul(z, f64x2.add(spl(13 /* C1 */), f64x2.mul(z, f64x2.add(spl(14 /* C2 */), f64x2.mul(z, spl(15 /* C3 */)))))),
      f64x2.mul(f64x2.mul(w, w), f64x2.add(spl(16 /* C4 */), f64x2.mul(z, f64x2.add(spl(17 /* C5 */), f64x2.mul(z, spl(18 /* C6 */)))))),
    );
    const hz = f64x2.mul(spl(19 /* 0.5 */), z);
    const cw = f64x2.sub(spl(20 /* 1.0 */), hz);
    const cv = f64x2.add(cw, f64x2.add(
      f64x2.sub(f64x2.sub(spl(20 /* 1.0 */), cw), hz),
      f64x2.sub(f64x2.mul(z, cr), f64x2.mul(hi, lo)),
    ));

    const ok = f64x2.lt(f64x2.abs(x), spl(6 /* LIMIT */));
    bad |= i64x2.bitmask(v128.not(ok));
    if (doSin) {
      const y = v128.bitselect(quadrant(t, sv, cv), x, ok);
      if (last) store<f64>(dstS + off, f64x2.extract_lane(y, 0));
      else v128.store(dstS + off, y);
    }
    if (doCos) {
      const y = v128.bitselect(quadrant(i64x2.add(t, i64x2.splat(1)), sv, cv), x, ok);
      if (last) store<f64>(dstC + off, f64x2.extract_lane(y, 0));
      else v128.store(dstC + off, y);
    }
  }
  return bad;
}

/** dst[i] = sin(src[i]) (dst may be src); nonzero when some lanes were out of range (left as x). */
export function sin(src: usize, dst: usize, n: i32): i32 {
  return run(src, dst, 0, n, true, false);
}

export function cos(src: usize, dst: usize, n: i32): i32 {
  return run(src, 0, dst, n, false, true);
}

/** sin and cos of the same values, sharing the argument reduction and both polynomials. */
export function sincos(src: usize, dstSin: usize, dstCos: usize, n: i32): i32 {
  return run(src, dstSin, dstCos, n, true, true);
}
