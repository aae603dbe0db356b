import { describe, expect, it } from 'vitest';
import { OPS, type OpName } from './catalogue.js';
import { FAST_PARAMS } from './fast-params.js';

const valid: Record<string, unknown[]> = {
  full: [{ value: 1 }, { value: NaN }, { value: -Infinity }],
  arange: [{ start: 0, step: 0.5 }],
  random: [{ dist: 'normal', seed: 42, a: 0, b: 1, offset: [0, 1000], fullShape: [8000, 8000] }],
  elementwise: [
    {
      program: [
        { op: 'sin', args: [{ input: 0 }], dtype: 'float64' },
        { op: 'pow', args: [{ ref: 0 }, { const: 2, dtype: 'float64' }], dtype: 'float64' },
      ],
      inputs: [{}, { perm: [1, 0] }, { source: { op: 'full', params: { value: 1 }, shape: [2, 2], dtype: 'float32' } }],
      domain: [2, 2],
      reduce: { kind: 'argmin', axes: [0, 1], offset: [0, 0], fullShape: [4, 4] },
    },
  ],
  'reduce-partial': [{ kind: 'var', axes: [1] }],
  'reduce-merge': [{ kind: 'std', axes: [0], final: { dtype: 'float32', keepdims: false, ddof: 1 } }, { kind: 'sum', axes: [] }],
  transpose: [{ axes: [1, 0] }],
  reshape: [{ shape: [4, 0] }],
};

/** Every way of breaking a value one step: drop or add a key, or swap a leaf for a wrong type. */
function* mutations(v: unknown): Generator<unknown> {
  const bad: unknown[] = [undefined, null, 'x', -1, 1.5, NaN, true, [], {}, [-1], { input: 'a' }];
  if (Array.isArray(v)) {
    yield [];
    for (let i = 0; i < v.length; i++) {
      for (const m of mutations(v[i])) yield v.map((x, j) => (j === i ? m : x));
      for (const b of bad) yield v.map((x, j) => (j === i ? b : x));
    }
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    yield { ...o, extra: 1 };
    for (const k of Object.keys(o)) {
      const rest = { ...o };
      delete rest[k];
      yield rest;
      for (const m of mutations(o[k])) yield { ...o, [k]: m };
      for (const b of bad) yield { ...o, [k]: b };
    }
  }
}

describe('fast parameter guards', () => {
  for (const [op, cases] of Object.entries(valid)) {
    it(`${op}: valid params take the fast path; whatever it accepts, zod accepts`, () => {
      const guard = FAST_PARAMS[op]!;
      const schema = OPS[op as OpName].params;
      let checked = 0;
      for (const p of cases) {
        expect(schema.safeParse(p).success).toBe(true);
        expect(guard(p)).toBe(true);
        for (const m of mutations(p)) {
          checked++;
          if (guard(m)) expect({ m, zod: schema.safeParse(m).success }).toEqual({ m, zod: true });
        }
      }
      expect(checked).toBeGreaterThan(10);
    });
  }
});
