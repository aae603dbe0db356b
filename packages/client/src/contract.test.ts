import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { computeList, connectLocal } from '../test-util/engine.js';

let client: ta.Client;
beforeAll(async () => {
  client = await connectLocal();
});
afterAll(async () => {
  await client?.close();
});

describe('contractions over many blocks', () => {
  it('sum at most 8 block products per task, then add the partial results: a^T b over 21 row blocks', async () => {
    const n = 210, a = ta.arange(0, n * 3, 1, { chunks: 90 }).reshape([n, 3]).rechunk([10, 3]);
    const b = ta.arange(0, n * 2, 1, { chunks: 60 }).mod(7).reshape([n, 2]).rechunk([10, 2]);
    const c = ta.tensordot(a, b, { axes: [[0], [0]] });
    const tasks = ta.toGraph([c]).tasks.filter((t) => t.op === 'tensordot');
    expect(tasks.length).toBe(3);
    expect(Math.max(...tasks.map((t) => (t.params as { pairs: number }).pairs))).toBe(8);
    // The reference: the same sums in plain loops.
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += (r * 3 + i) * ((r * 2 + j) % 7);
      want.push(s);
    }
    expect(await computeList(client, c)).toEqual(want);
    // Up to 8 pairs stay one task, with the keys they always had.
    expect(ta.toGraph([ta.matmul(ta.ones([4, 80], { chunks: 10 }), ta.ones([80, 4], { chunks: 10 }))]).tasks.filter((t) => t.op === 'tensordot').length).toBe(1);
  });
});
