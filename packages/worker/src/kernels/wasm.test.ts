import { describe, expect, it } from 'vitest';
import { uniformAt } from './random.js';
import { binaryInto, cosInto, sinCosInto, sinInto, sumInMemory, TILE, uniformTile, W_ADD, W_DIV, W_MUL, W_SQUARE, W_SUB, wasmRegister } from './wasm.js';

const view = new DataView(new ArrayBuffer(16));
/** Units in the last place between two float64 values of the same sign (0 when equal, NaN too). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || (a !== a && b !== b)) return 0;
  if (Math.sign(a) !== Math.sign(b) || Object.is(a, -0) !== Object.is(b, -0)) return Infinity;
  view.setFloat64(0, a);
  view.setFloat64(8, b);
  const d = view.getBigInt64(0) - view.getBigInt64(8);
  return Number(d < 0n ? -d : d);
}

let state = 1;
function rand(): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32;
}

/** Worst ulp error of sin, cos and sincos (in place and not) over xs, in chunks of TILE. */
function worst(xs: number[]): { sin: number; cos: number } {
  const reg = wasmRegister() ?? new Float64Array(TILE);
  const other = new Float64Array(TILE); // outside WebAssembly memory: goes through staging
  const w = { sin: 0, cos: 0 };
  for (let at = 0; at < xs.length; at += TILE) {
    const part = xs.slice(at, at + TILE);
    const n = part.length;
    const x = Float64Array.from(part);
    for (const [f, key, ref] of [[sinInto, 'sin', Math.sin], [cosInto, 'cos', Math.cos]] as const) {
      reg.set(x);
      f(reg, reg, n); // in place, in WebAssembly memory
      f(x, other, n); // both staged
      for (let i = 0; i < n; i++) {
        const want = ref(x[i]!);
        w[key] = Math.max(w[key], ulps(reg[i]!, want), ulps(other[i]!, want));
      }
    }
    reg.set(x);
    sinCosInto(reg, other, reg, n); // sin staged, cos over its own argument
    for (let i = 0; i < n; i++) {
      w.sin = Math.max(w.sin, ulps(other[i]!, Math.sin(x[i]!)));
      w.cos = Math.max(w.cos, ulps(reg[i]!, Math.cos(x[i]!)));
    }
  }
  return w;
}

describe('WebAssembly sin and cos', () => {
  const many = (f: () => number, n = 20_001): number[] => Array.from({ length: n }, f);

  it('are within 1 ulp of Math.sin / Math.cos on small, medium, large and negative arguments', () => {
    for (const xs of [
      many(() => rand()), // [0, 1): the benchmark's range, both sides of pi/4
      many(() => (rand() - 0.5) * 20),
      many(() => (rand() - 0.5) * 2e5),
      many(() => (rand() - 0.5) * 2 ** 31), // up to the 2^30 limit
      many(() => (rand() - 0.5) * 2 ** -20),
    ]) {
      const w = worst(xs);
      expect(w.sin).toBeLessThanOrEqual(1);
      expect(w.cos).toBeLessThanOrEqual(1);
    }
  });

  it('stay accurate next to multiples of pi/2, where the reduced argument nearly cancels', () => {
    const xs: number[] = [];
    for (const k of [1, 2, 3, 4, 7, 100, 1e4, 355, 103993, 2 ** 29]) {
      const c = (k * Math.PI) / 2;
      for (let d = -3; d <= 3; d++) xs.push(c + d * Math.max(Number.EPSILON * c, Number.MIN_VALUE));
    }
    const w = worst(xs);
    expect(w.sin).toBeLessThanOrEqual(1);
    expect(w.cos).toBeLessThanOrEqual(1);
  });

  it('give exactly Math results for ±0, subnormals, NaN, ±Inf and |x| >= 2^30, in odd-length runs', () => {
    const xs = [0, -0, 5e-324, -5e-324, NaN, Infinity, -Infinity, 2 ** 30, -(2 ** 30), 1e300, -1e22, 2 ** 30 - 0.5, 0.5];
    const reg = wasmRegister() ?? new Float64Array(TILE);
    for (const [f, ref] of [[sinInto, Math.sin], [cosInto, Math.cos]] as const) {
      reg.set(xs);
      reg[xs.length] = 12345; // past n: must stay untouched
      f(reg, reg, xs.length);
      xs.forEach((x, i) => {
        if (Math.abs(x) >= 2 ** 30 || x !== x || x === 0 || Math.abs(x) < 1e-300) expect(Object.is(reg[i], ref(x)), `${ref.name}(${x})`).toBe(true);
        else expect(ulps(reg[i]!, ref(x))).toBeLessThanOrEqual(1);
      });
      expect(reg[xs.length]).toBe(12345);
    }
  });
});

describe('WebAssembly counter-based uniforms', () => {
  it('match the BigInt reference uniformAt for any tile strides, past 2^32 and near 2^53', () => {
    const out = new Float64Array(64);
    for (const [g0, gR, gC] of [[0, 8, 1], [5, 1, 8000], [2 ** 32 - 7, 3, 2], [2 ** 53 - 200, 0, 3], [17, 0, 0]] as const) {
      uniformTile(out, 0, 8, 8, g0, gR, gC, 4242, 1, -1, 3, false);
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(out[i * 8 + j]).toBe(-1 + 3 * uniformAt(4242, 1, g0 + i * gR + j * gC));
      uniformTile(out, 0, 8, 8, g0, gR, gC, 4242, 1, -1, 3, true);
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(out[i * 8 + j]).toBe(Math.fround(-1 + 3 * uniformAt(4242, 1, g0 + i * gR + j * gC)));
    }
  });

  it('the reference is SplitMix64 (pinned values: the generator must not drift)', () => {
    // Computed independently with Python integers from the definition in random.ts.
    expect(uniformAt(0, 0, 0)).toBe(0.8054269619380791);
    expect(uniformAt(42, 1, 2 ** 40 + 3)).toBe(0.9247933048925464);
    expect(uniformAt(4294967295, 0, 2 ** 53 - 1)).toBe(0.5720594238184957);
  });
});

describe('WebAssembly arithmetic and sums', () => {
  const vals = (n: number): Float64Array =>
    Float64Array.from({ length: n }, (_, i) => (i % 17 === 0 ? [NaN, Infinity, -0, 1e308][i % 4]! : (rand() - 0.5) * 1e3));

  it('binary ops give exactly the JS results, odd lengths, aliased and staged operands', () => {
    const ref: Record<number, (x: number, y: number) => number> = {
      [W_ADD]: (x, y) => x + y, [W_SUB]: (x, y) => x - y, [W_MUL]: (x, y) => x * y, [W_DIV]: (x, y) => x / y, [W_SQUARE]: (x) => x * x,
    };
    const a = wasmRegister() ?? new Float64Array(TILE), b = new Float64Array(TILE);
    for (const op of [W_ADD, W_SUB, W_MUL, W_DIV, W_SQUARE]) {
      for (const n of [TILE, 4095, 1]) {
        const x = vals(n), y = vals(n);
        a.set(x);
        b.set(y);
        binaryInto(op, a, b, a, n); // result over its first operand (in memory), b staged
        for (let i = 0; i < n; i++) expect(a[i]).toEqual(ref[op]!(x[i]!, y[i]!)); // toEqual: NaN equals NaN, -0 is not 0
        const out = new Float64Array(TILE).fill(7);
        binaryInto(op, x, y, out, n); // everything staged
        for (let i = 0; i < n; i++) expect(out[i]).toEqual(ref[op]!(x[i]!, y[i]!));
        if (n < TILE) expect(out[n]).toBe(7);
      }
    }
  });

  it('sum matches the four-accumulator JS sum bit for bit, and is only used on WebAssembly memory', () => {
    const reg = wasmRegister() ?? new Float64Array(TILE);
    for (const [off, n] of [[0, TILE], [3, 1001], [5, 2], [0, 0], ...Array.from({ length: 20 }, (_, i) => [i, 64 + i] as const)]) {
      // Full 53-bit mantissas (times pi) so that the summation order shows in the bits; finite, as a NaN would hide it.
      reg.set(Float64Array.from({ length: TILE }, () => (rand() - 0.5) * Math.PI * 1e3));
      const s = new Float64Array(4);
      const n4 = n & ~3;
      for (let i = 0; i < n4; i++) s[i & 3] = s[i & 3]! + reg[off + i]!;
      for (let i = n4; i < n; i++) s[0] = s[0]! + reg[off + i]!;
      expect(sumInMemory(reg, off, n)).toEqual((s[0]! + s[1]!) + (s[2]! + s[3]!));
    }
    expect(sumInMemory(new Float64Array(8), 0, 8)).toBeUndefined();
  });
});
