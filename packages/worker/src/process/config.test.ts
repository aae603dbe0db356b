import { describe, expect, it } from 'vitest';
import { firstExternalIPv4, resolveHost, resolveWorkerOptions } from './config.js';

const base = { redis: 'redis://127.0.0.1:6379', scheduler: 'http://127.0.0.1:8786' };

describe('worker options', () => {
  it('the address peers use: given, the bind address, or this machine’s own with a wildcard bind or auto', () => {
    expect(resolveHost('10.1.2.3', '0.0.0.0')).toBe('10.1.2.3');
    expect(resolveHost(undefined, '127.0.0.1')).toBe('127.0.0.1');
    expect(resolveHost(undefined, '10.9.9.9')).toBe('10.9.9.9');
    const own = firstExternalIPv4();
    if (own) {
      expect(resolveHost(undefined, '0.0.0.0')).toBe(own);
      expect(resolveHost('auto', '127.0.0.1')).toBe(own);
    }
    expect(resolveWorkerOptions(base)).toMatchObject({
      host: '127.0.0.1',
      bind: '127.0.0.1',
      shutdownTimeoutMs: 30_000,
      metrics: true,
      token: undefined,
    });
  });

  it('a short token, a negative shutdown timeout, an unknown option: InvalidArgumentError naming it', () => {
    expect(() => resolveWorkerOptions({ ...base, token: 'short' })).toThrow(/worker option token: must be at least 16 characters/);
    expect(() => resolveWorkerOptions({ ...base, shutdownTimeoutMs: -1 })).toThrow(/worker option shutdownTimeoutMs/);
    expect(() => resolveWorkerOptions({ ...base, host: 'not a host' })).toThrow(/worker option host/);
    expect(() => resolveWorkerOptions({ ...base, nope: 1 })).toThrow(/nope/);
  });
});
