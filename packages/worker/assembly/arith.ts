// Elementwise arithmetic and sums over registers, two lanes at a time: V8 does not vectorise the
// JS loops of program.ts (about 0.6 ns per element each; these run at about a quarter of that).

export const ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQUARE = 4;
/** numpy's integer floor division and remainder in doubles (division by zero gives 0). */
export const IFLOORDIV = 5, IREM = 6;

// @ts-ignore: decorator
@inline function apply(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case ADD: return f64x2.add(x, y);
    case SUB: return f64x2.sub(x, y);
    case MUL: return f64x2.mul(x, y);
    case DIV: return f64x2.div(x, y);
    case IFLOORDIV: return v128.andnot(f64x2.floor(f64x2.div(x, y)), f64x2.eq(y, f64x2.splat(0)));
    // x - floor(x / y) * y, exact while |x| < 2^52 (the caller redoes larger lanes); + 0 makes -0 +0.
    case IREM: return v128.andnot(f64x2.add(f64x2.sub(x, f64x2.mul(f64x2.floor(f64x2.div(x, y)), y)), f64x2.splat(0)), f64x2.eq(y, f64x2.splat(0)));
    default: return f64x2.mul(x, x);
  }
}

// @ts-ignore: decorator
@inline function loop(op: i32, a: usize, b: usize, o: usize, n: i32): void {
  const end = <usize>(n & ~1) << 3;
  let i: usize = 0;
  for (; i < end; i += 16) v128.store(o + i, apply(op, v128.load(a + i), v128.load(b + i)));
  if (n & 1) store<f64>(o + i, f64x2.extract_lane(apply(op, f64x2.splat(load<f64>(a + i)), f64x2.splat(load<f64>(b + i))), 0));
}

/** o[i] = a[i] op b[i] for n values (o may be a or b); the op is chosen once, outside the loop. */
export function binary(op: i32, a: usize, b: usize, o: usize, n: i32): void {
  switch (op) {
    case ADD: loop(ADD, a, b, o, n); break;
    case SUB: loop(SUB, a, b, o, n); break;
    case MUL: loop(MUL, a, b, o, n); break;
    case DIV: loop(DIV, a, b, o, n); break;
    case IFLOORDIV: loop(IFLOORDIV, a, b, o, n); break;
    case IREM: loop(IREM, a, b, o, n); break;
    default: loop(SQUARE, a, a, o, n);
  }
}

const TWO53: f64 = 9007199254740992;

/** All-ones lanes of r that are not an integer double of int64 (signed) / uint64 below 2^53 (NaN too). */
// @ts-ignore: decorator
@inline function badLanes(r: v128, signed: i32): v128 {
  const lim = f64x2.splat(TWO53);
  return v128.not(v128.and(f64x2.lt(r, lim), signed ? f64x2.gt(r, f64x2.neg(lim)) : f64x2.ge(r, f64x2.splat(0))));
}

// @ts-ignore: decorator
@inline function badValue(x: f64, signed: i32): bool {
  return !(x < TWO53 && (signed ? x > -TWO53 : x >= 0));
}

// @ts-ignore: decorator
@inline function checkedLoop(op: i32, a: usize, b: usize, o: usize, n: i32, signed: i32): i32 {
  const zero = f64x2.splat(0);
  let bad = i64x2.splat(0);
  const end = <usize>(n & ~1) << 3;
  let i: usize = 0;
  for (; i < end; i += 16) {
    const r = apply(op, v128.load(a + i), v128.load(b + i));
    bad = v128.or(bad, badLanes(r, signed));
    v128.store(o + i, f64x2.add(r, zero));
  }
  let tail = false;
  if (n & 1) {
    const r = f64x2.extract_lane(apply(op, f64x2.splat(load<f64>(a + i)), f64x2.splat(load<f64>(b + i))), 0);
    tail = badValue(r, signed);
    store<f64>(o + i, r + 0);
  }
  return tail || v128.any_true(bad) ? 1 : 0;
}

/**
 * binary() for int64 (signed) / uint64 results, with check64's store check in the same pass: 1
 * when some result is not exactly an integer of the dtype below 2^53 (the caller then takes the
 * exact path), else 0; -0 becomes +0.
 */
export function binaryChecked(op: i32, a: usize, b: usize, o: usize, n: i32, signed: i32): i32 {
  switch (op) {
    case ADD: return checkedLoop(ADD, a, b, o, n, signed);
    case SUB: return checkedLoop(SUB, a, b, o, n, signed);
    case MUL: return checkedLoop(MUL, a, b, o, n, signed);
    default: return checkedLoop(SQUARE, a, a, o, n, signed);
  }
}

/**
 * Sum of n values with four accumulators s0..s3 (value i goes to s[i mod 4], a tail to s0),
 * returned as (s0 + s1) + (s2 + s3): bit for bit the JS sumRange of reduce.ts.
 */
export function sum(p: usize, n: i32): f64 {
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  const end = p + (<usize>(n & ~3) << 3);
  let q = p;
  for (; q < end; q += 32) {
    lo = f64x2.add(lo, v128.load(q));
    hi = f64x2.add(hi, v128.load(q, 16));
  }
  let s0 = f64x2.extract_lane(lo, 0);
  const stop = p + (<usize>n << 3);
  for (; q < stop; q += 8) s0 += load<f64>(q);
  return (s0 + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
}

/**
 * The int64 (signed) or uint64 store check over n values in place: 1 when some value is not a
 * double that holds the integer exactly (|x| >= 2^53, a negative for uint64, NaN), else 0; -0
 * becomes +0 (an integer has no -0).
 */
export function check64(p: usize, n: i32, signed: i32): i32 {
  const zero = f64x2.splat(0);
  let bad = i64x2.splat(0);
  const end = <usize>(n & ~1) << 3;
  let i: usize = 0;
  for (; i < end; i += 16) {
    const x = v128.load(p + i);
    bad = v128.or(bad, badLanes(x, signed));
    v128.store(p + i, f64x2.add(x, zero));
  }
  let tail = false;
  if (n & 1) {
    const x = load<f64>(p + i);
    tail = badValue(x, signed);
    store<f64>(p + i, x + 0);
  }
  return tail || v128.any_true(bad) ? 1 : 0;
}

/** 1 when some |value| of n is not below limit (NaN included): a read-only check64 for operands. */
export function beyond(p: usize, n: i32, limit: f64): i32 {
  const lim = f64x2.splat(limit);
  let bad = i64x2.splat(0);
  const end = <usize>(n & ~1) << 3;
  let i: usize = 0;
  for (; i < end; i += 16) bad = v128.or(bad, v128.not(f64x2.lt(f64x2.abs(v128.load(p + i)), lim)));
  const tail = (n & 1) != 0 && !(Math.abs(load<f64>(p + i)) < limit);
  return tail || v128.any_true(bad) ? 1 : 0;
}

// @ts-ignore: decorator
@inline function divideLanes(op: i32, x: v128, inv: v128, vy: v128, sg: v128, ay: v128): v128 {
  const zero = f64x2.splat(0), one = f64x2.splat(1);
  let q = f64x2.floor(f64x2.mul(x, inv));
  let r = f64x2.sub(x, f64x2.mul(q, vy));
  const high = f64x2.ge(f64x2.mul(r, sg), ay);
  q = f64x2.add(q, v128.and(high, one));
  r = f64x2.sub(r, v128.and(high, vy));
  return op == IREM ? f64x2.add(r, zero) : q;
}

/**
 * numpy's floor division (op IFLOORDIV) or remainder (IREM) of n integer-valued doubles by one
 * integer divisor y != 0, without a division per element. While |x| < 2^52 (the caller checks)
 * x * (1/y) is within |x/y| * 2^-52 < 1/|y| of x/y, and a quotient that is not an integer is at
 * least 1/|y| below the next one, so floor(x * (1/y)) is the floor of x/y or one less (at exact
 * multiples); x - q * y is exact, and one correction step fixes q (the remainder then has the
 * divisor's sign, in [0, y) or (y, 0]; + 0 makes -0 +0).
 */
export function divideBy(op: i32, a: usize, y: f64, o: usize, n: i32): void {
  const inv = f64x2.splat(1 / y), vy = f64x2.splat(y);
  const sg = f64x2.splat(y < 0 ? -1 : 1), ay = f64x2.splat(Math.abs(y));
  const end = <usize>(n & ~1) << 3;
  let i: usize = 0;
  for (; i < end; i += 16) v128.store(o + i, divideLanes(op, v128.load(a + i), inv, vy, sg, ay));
  if (n & 1) store<f64>(o + i, f64x2.extract_lane(divideLanes(op, f64x2.splat(load<f64>(a + i)), inv, vy, sg, ay), 0));
}

/**
 * out[i*nc + j] = start + g * step, g = g0 + i*gR + j*gC (an arange read through a view), for an
 * nr x nc tile; trunc: toward zero (an integer arange). The same IEEE operations as the JS
 * arange (the index is an exact integer double), so the same bits.
 */
export function arangeTile(o: usize, nr: i32, nc: i32, g0: f64, gR: f64, gC: f64, start: f64, step: f64, trunc: i32): void {
  const vs = f64x2.splat(start), vstep = f64x2.splat(step), two = f64x2.splat(2 * gC);
  let q = o;
  for (let i = 0; i < nr; i++) {
    const row = g0 + <f64>i * gR;
    let g = f64x2.replace_lane(f64x2.splat(row), 1, row + gC);
    let j = 0;
    for (; j + 1 < nc; j += 2, q += 16) {
      const v = f64x2.add(vs, f64x2.mul(g, vstep));
      v128.store(q, trunc ? f64x2.trunc(v) : v);
      g = f64x2.add(g, two);
    }
    if (j < nc) {
      const v = start + (row + <f64>j * gC) * step;
      store<f64>(q, trunc ? Math.trunc(v) : v);
      q += 8;
    }
  }
}

/**
 * Sum of n integer-valued doubles when each |value| is below limit (limit * n <= 2^53: every
 * partial sum is exact, whatever the order), else NaN (the caller sums the halves apart).
 */
export function exactSum(p: usize, n: i32, limit: f64): f64 {
  const lim = f64x2.splat(limit);
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  let bad = i64x2.splat(0);
  const end = p + (<usize>(n & ~3) << 3);
  let q = p;
  for (; q < end; q += 32) {
    const x = v128.load(q), y = v128.load(q, 16);
    bad = v128.or(bad, v128.or(v128.not(f64x2.lt(f64x2.abs(x), lim)), v128.not(f64x2.lt(f64x2.abs(y), lim))));
    lo = f64x2.add(lo, x);
    hi = f64x2.add(hi, y);
  }
  let s0 = f64x2.extract_lane(lo, 0);
  let tail = false;
  const stop = p + (<usize>n << 3);
  for (; q < stop; q += 8) {
    const x = load<f64>(q);
    if (!(Math.abs(x) < limit)) tail = true;
    s0 += x;
  }
  if (tail || v128.any_true(bad)) return NaN;
  return (s0 + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
}
