import { describe, expect, it } from 'vitest';
import type { Chunk } from '@tessera/protocol';
import { CancelledGraphs } from './control-loop.js';
import { ReplicaCache } from './replica-cache.js';

const chunk = (n: number): Chunk => ({ dtype: 'uint8', shape: [n], data: new Uint8Array(n) });

describe('ReplicaCache', () => {
  it('keeps at most its capacity, evicting the least recently used', () => {
    const c = new ReplicaCache(100);
    c.put('a', chunk(40));
    c.put('b', chunk(40));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.put('c', chunk(40));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    expect(c.bytes).toBe(80);
    c.put('huge', chunk(101));
    expect(c.get('huge')).toBeUndefined();
    expect(c.count).toBe(2);
  });

  it('replaces an entry under the same key without counting it twice', () => {
    const c = new ReplicaCache(100);
    c.put('a', chunk(40));
    c.put('a', chunk(30));
    expect(c.bytes).toBe(30);
  });
});

describe('CancelledGraphs', () => {
  it('forgets a graph after its time', async () => {
    const c = new CancelledGraphs(30);
    c.add(['g']);
    expect(c.has('g')).toBe(true);
    expect(c.has('h')).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    expect(c.has('g')).toBe(false);
  });
});
