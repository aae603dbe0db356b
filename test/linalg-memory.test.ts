// The memory bound of TSQR on the local engine: R and the singular values of a 2,000,000 x 50
// float64 array (800 MB) in 100,000-row blocks (40 MB) hold a few blocks per thread at a time (7 seen),
// never the array: each block is generated, factored and freed once its small R is cut out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { heldPeak } from './memory.test-util.js';

const BLOCK = 100_000 * 50 * 8;

describe('TSQR memory on the local engine', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await ta.Client.connect({ threads: 2 });
  });
  afterAll(() => client.close());

  const peak = (x: ta.ChunkedArray) => heldPeak(client, x);

  it('qr(x)[1] and svd(x)[1] of 2,000,000 x 50 in 100,000-row blocks hold at most 5 blocks per thread (the array is 20)', { timeout: 240_000 }, async () => {
    const x = ta.random.uniform([2_000_000, 50], { chunks: [100_000, 50], seed: 5 });
    const r = await peak(ta.linalg.qr(x)[1]);
    expect((r.value as ta.NDArray).shape).toEqual([50, 50]);
    expect(r.peak).toBeGreaterThan(BLOCK); // the sampling saw blocks
    expect(r.peak).toBeLessThanOrEqual(10 * BLOCK);
    const s = await peak(ta.linalg.svd(x)[1]);
    // The largest singular value of a uniform [0, 1) matrix is about sqrt(n m / 4) (its mean's).
    expect(Math.abs((s.value as ta.NDArray).data[0] as number) / Math.sqrt((2e6 * 50) / 4)).toBeCloseTo(1, 1);
    expect(s.peak).toBeLessThanOrEqual(10 * BLOCK);
  });
});
