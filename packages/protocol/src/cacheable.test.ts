import { describe, expect, it } from 'vitest';
import { cacheableKeys, isCacheable } from './cacheable.js';

const t = (key: string, op: string, deps: string[] = [], params: Record<string, unknown> = {}) => ({ key, op, params, deps });

describe('what a result cache may keep', () => {
  it('pure ops on pure inputs; not file reads, writes, impure kernels, persisted chunks, nor anything downstream of them', () => {
    const tasks = [
      t('r', 'random'),
      t('e', 'elementwise', ['r']),
      t('f', 'read-npy'),
      t('g', 'elementwise', ['f', 'r']),
      t('k', 'map-blocks', ['r'], { kernel: 'k' }),
      t('kp', 'map-blocks', ['r'], { kernel: 'k', pure: true }),
      t('after-k', 'reduce-partial', ['k']),
      t('after-kp', 'reduce-partial', ['kp']),
      t('p', 'persisted'),
      t('after-p', 'elementwise', ['p']),
      t('one', 'full'),
      t('after-one', 'elementwise', ['one']),
      t('w', 'write-zarr', ['e']),
      t('outside', 'elementwise', ['not-in-graph']),
    ];
    expect([...cacheableKeys(tasks)].sort()).toEqual(['after-kp', 'after-one', 'e', 'kp', 'r']);
    expect(isCacheable(t('x', 'full'))).toBe(false); // cheaper to redo, though pure
  });

  it('walks a chain of 100,000 tasks without recursion', () => {
    const tasks = [t('c0', 'random'), ...Array.from({ length: 99_999 }, (_, i) => t(`c${i + 1}`, 'elementwise', [`c${i}`]))];
    expect(cacheableKeys(tasks.reverse()).size).toBe(100_000);
  });
});
