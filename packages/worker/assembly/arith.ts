// Elementwise arithmetic and sums over registers, two lanes at a time: V8 does not vectorise the
// JS loops of program.ts (about 0.6 ns per element each; these run at about a quarter of that).

export const ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQUARE = 4;

// @ts-ignore: decorator
@inline function apply(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case ADD: return f64x2.add(x, y);
    case SUB: return f64x2.sub(x, y);
    case MUL: return f64x2.mul(x, y);
    case DIV: return f64x2.div(x, y);
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
    default: loop(SQUARE, a, a, o, n);
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
