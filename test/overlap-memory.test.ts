// The memory bound of mapOverlap on the local engine: each block is read by the halos of its
// neighbours only, so the engine holds a front of blocks as it walks the array, never the array:
// a few blocks along a 1-d array (16 of 100 seen), a few rows of a 2-d grid (61 of 144 seen).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { heldPeak } from './memory.test-util.js';

describe('mapOverlap memory on the local engine', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await ta.Client.connect({ threads: 2, kernels: [new URL('./fixtures/stencil-kernels.mjs', import.meta.url).pathname] });
  });
  afterAll(() => client.close());

  it('a 1-d array of 100 blocks holds at most 20 of them', { timeout: 120_000 }, async () => {
    const x = ta.random.uniform([25_000_000], { chunks: [250_000], seed: 1 });
    const l = ta.mapOverlap('laplace', x, { depth: 1, boundary: 'reflect' });
    const { peak, value } = await heldPeak(client, l.mul(l).sum());
    // Var(x[i-1] - 2 x[i] + x[i+1]) = 6/12 for uniforms: the mean of L² is 1/2.
    expect((value as number) / 25e6).toBeCloseTo(0.5, 2);
    expect(peak).toBeGreaterThan(250_000 * 8);
    expect(peak).toBeLessThanOrEqual(20 * 250_000 * 8);
  });

  it('a 12 x 12 grid of blocks holds at most 6 rows of it', { timeout: 120_000 }, async () => {
    const x = ta.random.uniform([6000, 6000], { chunks: [500, 500], seed: 2 });
    const l = ta.mapOverlap('laplace', x, { depth: 1 });
    const { peak } = await heldPeak(client, l.mul(l).sum());
    expect(peak).toBeLessThanOrEqual(6 * 12 * 500 * 500 * 8);
  });
});
