import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { formatCpuList, parseCpuList } from './cpu-list.js';

describe('CPU lists (taskset -c, Cpus_allowed_list)', () => {
  it('parses numbers and ranges, sorted, each once, and writes the shortest form back', () => {
    expect(parseCpuList('0-3,8, 10-11,2')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(formatCpuList([11, 0, 1, 2, 3, 8, 10, 3])).toBe('0-3,8,10-11');
    expect(formatCpuList([4])).toBe('4');
  });

  it('refuses what is not a list, naming the part', () => {
    for (const bad of ['', 'a', '1-', '3-1', '1,,2', '-1', '1.5']) expect(() => parseCpuList(bad), bad).toThrow(InvalidArgumentError);
    expect(() => parseCpuList('0-2,x')).toThrow(/"x" is not a CPU number/);
    expect(() => parseCpuList('3-1')).toThrow(/runs backwards/);
  });
});
