import { describe, expect, it } from 'vitest';
import { KEY_PATTERN, keyGroup, keyIndex, keyOp, keySafe, taskKey, tokenize } from './keys.js';

describe('task keys', () => {
  it('formats and parses <op>-<token>:<i>,<j>', () => {
    const k = taskKey(`random-${tokenize('x')}`, [3, 14]);
    expect(k).toMatch(KEY_PATTERN);
    expect(keyIndex(k)).toEqual([3, 14]);
    expect(keyOp(k)).toBe('random');
    expect(keyGroup(k)).toBe(k.slice(0, k.indexOf(':')));
    expect(keyIndex(taskKey('sum-0123456789abcdef', []))).toEqual([]);
    expect('sum-0123456789abcdef:').toMatch(KEY_PATTERN);
    expect('reduce-merge-0123456789abcdef:1,2').toMatch(KEY_PATTERN);
    expect('Bad Key:1').not.toMatch(KEY_PATTERN);
  });
  it('tokens are deterministic and sensitive to every part', () => {
    expect(tokenize('add', { b: 1, a: 2 })).toBe(tokenize('add', { a: 2, b: 1 }));
    expect(tokenize('add', { a: 1 })).not.toBe(tokenize('add', { a: 2 }));
    expect(tokenize(new Float64Array([1, 2]))).toBe(tokenize(new Float64Array([1, 2])));
    expect(tokenize(new Float64Array([1, 2]))).not.toBe(tokenize(new Float32Array([1, 2])));
    expect(tokenize(0)).not.toBe(tokenize(-0));
  });
  it('makes user names safe as key ops', () => {
    expect(keySafe('My Kernel!')).toBe('my_kernel_');
    expect('my_kernel_-0123456789abcdef:0').toMatch(KEY_PATTERN);
  });
});
