// The memory bound of numpy.fft on the local engine: a transform along an axis the blocks hold
// whole runs block by block, so the engine holds a few complex blocks per thread (6 of 32 seen);
// an n-d transform over axes no block holds takes a rechunk between the axes, an all-to-all move
// that, like any transpose, holds about the whole complex array once (1.75 times seen).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { heldPeak } from './memory.test-util.js';

describe('fft memory on the local engine', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await ta.Client.connect({ threads: 2 });
  });
  afterAll(() => client.close());

  it('rfft along the lanes of 32 row blocks holds at most 8 complex blocks', { timeout: 120_000 }, async () => {
    const x = ta.random.uniform([4096, 4096], { chunks: [128, 4096], seed: 3 });
    const power = ta.abs(ta.fft.rfft(x)).sum();
    const { peak, value } = await heldPeak(client, power);
    expect(value as number).toBeGreaterThan(0);
    const complexBlock = 128 * 2049 * 16;
    expect(peak).toBeGreaterThan(complexBlock);
    // Seen: 6.0 (each of 2 threads with a real input, its complex transform and the magnitudes in flight).
    expect(peak).toBeLessThanOrEqual(8 * complexBlock);
  });

  it('fft2 of an array in row blocks goes axis by axis and holds about the complex array once', { timeout: 120_000 }, async () => {
    const x = ta.random.uniform([2048, 2048], { chunks: [256, 2048], seed: 4 });
    const f = ta.fft.fft2(x);
    // Two layers of 1-d transforms with a rechunk between them, as many blocks as the input's, not one block.
    expect(f.chunks).toEqual([[2048], Array<number>(8).fill(256)]);
    const { peak, value } = await heldPeak(client, ta.abs(f).sum());
    expect(value as number).toBeGreaterThan(0);
    const whole = 2048 * 2048 * 16;
    // Seen: 1.75 (the first layer's blocks while the rechunk reads them, and the second's).
    expect(peak).toBeLessThanOrEqual(2.5 * whole);
  });
});
