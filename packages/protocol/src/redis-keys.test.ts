import { describe, expect, it } from 'vitest';
import { clusterKeys } from './cluster.js';
import { GRAPH_KEY_PARTS, clusterBase, graphIndexKey, graphKeys, graphStagingKeys } from './redis-keys.js';

/** Redis Cluster's rule: the slot is hashed from the text between the first `{` and the next `}`. */
const hashTag = (key: string): string => {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
};

describe('Redis key names', () => {
  it('put every key of one graph, staging included, in the slot of its id', () => {
    const keys = [...Object.values(graphKeys('tsr', 'g1-x')), ...Object.values(graphStagingKeys('tsr', 'g1-x', 'n0'))];
    expect(keys).toHaveLength(2 * GRAPH_KEY_PARTS.length);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) {
      expect(k.startsWith('tsr:')).toBe(true);
      expect(hashTag(k)).toBe('g1-x');
    }
  });

  it('put the cluster\'s own keys, the graph index and BullMQ\'s prefix in one slot, under the prefix', () => {
    const c = clusterKeys('tsr');
    const keys = [c.workers, c.heartbeats, c.reports, c.persisted, c.queues, c.control('w1'), c.gone('w1'), graphIndexKey('tsr'), `${clusterBase('tsr')}:bull:q`];
    for (const k of keys) {
      expect(k.startsWith('tsr:')).toBe(true);
      expect(hashTag(k)).toBe('cluster');
    }
    expect(graphIndexKey('tsr')).toBe('tsr:{cluster}:graphs');
    expect(() => clusterBase('a{b')).toThrow(/brace/);
  });

  it('refuse braces and empty names, which would move or lose the hash tag', () => {
    expect(() => graphKeys('a{b}', 'g')).toThrow(/brace/);
    expect(() => graphKeys('p', 'g}')).toThrow(/brace/);
    expect(() => graphKeys('p', '')).toThrow(/non-empty/);
    expect(() => graphStagingKeys('p', 'g', '')).toThrow(/nonce/);
  });
});
