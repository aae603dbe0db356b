import { ChunkError, InvalidArgumentError } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { autoBlockSizes, gridIndices, normalizeChunks, regularChunks, unifyAxis } from './chunks.js';

describe('normalizeChunks', () => {
  it('cuts each axis by a block size, the last block smaller', () => {
    expect(normalizeChunks('f', [10, 4], 3, 'float64')).toEqual([[3, 3, 3, 1], [3, 1]]);
    expect(normalizeChunks('f', [10, 4], [5, -1], 'float64')).toEqual([[5, 5], [4]]);
    expect(normalizeChunks('f', [10, 4], [[2, 8], [1, 3]], 'float64')).toEqual([[2, 8], [1, 3]]);
    expect(normalizeChunks('f', [0, 4], [3, 2], 'float64')).toEqual([[0], [2, 2]]);
    expect(normalizeChunks('f', [], undefined, 'float64')).toEqual([]);
  });

  it('auto: blocks of about 128 MiB, balanced', () => {
    expect(normalizeChunks('f', [8000, 8000], undefined, 'float64')).toEqual([[4000, 4000], [4000, 4000]]);
    expect(normalizeChunks('f', [100, 100], 'auto', 'float64')).toEqual([[100], [100]]);
    const c = normalizeChunks('f', [3, 1_000_000_000], undefined, 'uint8');
    expect(c[0]).toEqual([3]);
    expect(3 * c[1]![0]!).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(3 * c[1]![0]!).toBeGreaterThan(100 * 2 ** 20);
    // A fixed axis leaves the rest of the budget to the auto one.
    expect(normalizeChunks('f', [1000, 1_000_000], [10, 'auto'], 'float64')[1]![0]).toBeLessThanOrEqual(2 ** 24 / 10);
  });

  it('rejects bad specs naming the function and the value', () => {
    expect(() => normalizeChunks('ones', [10], [0], 'float64')).toThrow(InvalidArgumentError);
    expect(() => normalizeChunks('ones', [10], [0], 'float64')).toThrow(/ones: chunk size 0 for axis 0/);
    expect(() => normalizeChunks('ones', [10, 2], [5], 'float64')).toThrow(/ones: chunks \[5\] has 1 entries for the 2-d shape \(10, 2\)/);
    expect(() => normalizeChunks('zeros', [10], [[4, 4]], 'float64')).toThrow(ChunkError);
    expect(() => normalizeChunks('zeros', [10], [[4, 4]], 'float64')).toThrow(/zeros: chunks \(4, 4\) for axis 0 sum to 8, but the axis has size 10/);
    expect(() => normalizeChunks('zeros', [10], [1.5], 'float64')).toThrow(InvalidArgumentError);
  });
});

describe('chunk helpers', () => {
  it('regularChunks and unifyAxis', () => {
    expect(regularChunks(7, 7)).toEqual([7]);
    expect(regularChunks(7, 10)).toEqual([7]);
    expect(unifyAxis([[5, 5], [3, 3, 4]])).toEqual([3, 2, 1, 4]);
    expect(unifyAxis([[0]])).toEqual([0]);
  });
  it('autoBlockSizes keeps blocks within the budget', () => {
    const s = autoBlockSizes([10_000, 10_000, 10_000], 2 ** 24);
    expect(s[0]! * s[1]! * s[2]!).toBeLessThanOrEqual(2 ** 24);
    expect(Math.abs(s[0]! - s[2]!)).toBeLessThan(0.1 * s[0]!);
  });
  it('gridIndices is C order', () => {
    expect([...gridIndices([2, 2])]).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    expect([...gridIndices([])]).toEqual([[]]);
    expect([...gridIndices([0, 3])]).toEqual([]);
  });
});
