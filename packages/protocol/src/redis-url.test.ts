import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { RedisUrl, openRedis, parseRedisUrl, redactRedisUrl, redisErrorReason, tlsHandshakeError, watchRedisErrors } from './redis-url.js';

describe('Redis URLs', () => {
  it('reads one server, a Redis Cluster and a Sentinel group, with TLS and credentials', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('rediss://:pw@cache.example:6380/2')).toEqual({ kind: 'single', url: 'rediss://:pw@cache.example:6380/2' });
    expect(parseRedisUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }],
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://app:s%40cret@[::1]:7000')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '::1', port: 7000 }],
      tls: true,
      username: 'app',
      password: 's@cret',
    });
    expect(parseRedisUrl('redis+sentinel://:pw@h1:26379,h2:26380/my%20master?sentinelPassword=sp')).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 'h1', port: 26379 }, { host: 'h2', port: 26380 }],
      name: 'my master',
      tls: false,
      password: 'pw',
      sentinelPassword: 'sp',
    });
  });

  it('refuses what is not one, naming what is wrong, and never shows the password', () => {
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1:6379', /scheme must be one of/],
      ['redis://', /host/],
      ['redis+cluster://h1', /"h1" is not host:port/],
      ['redis+cluster://h1:70000', /is not host:port/],
      ['redis+cluster://h1:7000/3', /no path/],
      ['redis+cluster://h1:7000?db=1', /unknown parameter "db"/],
      ['redis+sentinel://h1:26379', /ends with \/<master name>/],
      ['redis+sentinel://:hunter2@h1:26379', /ends with/],
      ['127.0.0.1:6379', /not a URL/],
    ];
    for (const [url, why] of cases) {
      expect(() => parseRedisUrl(url), url).toThrow(InvalidArgumentError);
      expect(() => parseRedisUrl(url), url).toThrow(why);
      expect(() => parseRedisUrl(url)).not.toThrow(/hunter2/);
    }
    expect(redactRedisUrl('redis+sentinel://u:hunter2@h:1/m?sentinelPassword=x')).toBe('redis+sentinel://u:***@h:1/m?sentinelPassword=***');
    expect(RedisUrl.safeParse('redis+cluster://h1').success).toBe(false);
    expect(RedisUrl.safeParse('redis+cluster://h1:7000').success).toBe(true);
  });

  it('opens each kind with the options given, as ioredis takes them', () => {
    const made: { kind: string; args: unknown[] }[] = [];
    const classes = {
      Redis: class {
        constructor(...args: unknown[]) {
          made.push({ kind: 'Redis', args });
        }
      },
      Cluster: class {
        constructor(...args: unknown[]) {
          made.push({ kind: 'Cluster', args });
        }
      },
    };
    const opts = { maxRetriesPerRequest: null, lazyConnect: true };
    openRedis('redis://h:1', opts, classes);
    openRedis('rediss+cluster://u:p@h:1,h:2', opts, classes);
    openRedis('redis+sentinel://h:1/m', opts, classes);
    expect(made[0]).toEqual({ kind: 'Redis', args: ['redis://h:1', opts] });
    expect(made[1]!.kind).toBe('Cluster');
    expect(made[1]!.args[0]).toEqual([{ host: 'h', port: 1 }, { host: 'h', port: 2 }]);
    expect(made[1]!.args[1]).toMatchObject({ lazyConnect: true, redisOptions: { ...opts, username: 'u', password: 'p', tls: {} } });
    expect(made[2]).toEqual({ kind: 'Redis', args: [{ ...opts, sentinels: [{ host: 'h', port: 1 }], name: 'm' }] });
  });

  it('says why a connection failed in words, never with the command it failed on (an AUTH carries the password)', () => {
    const auth = Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['u', 'secret'] } });
    const all = Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: auth });
    expect(redisErrorReason(all)).toBe('Failed to refresh slots cache. (WRONGPASS invalid username-password pair)');
    expect(redisErrorReason('down')).toBe('down');
    const r = new EventEmitter();
    const said: string[] = [];
    const failed = watchRedisErrors(r, (why) => said.push(why));
    r.emit('node error', new Error('self-signed certificate in certificate chain'));
    r.emit('error', new Error('Connection is closed.'));
    // The rejection says only "closed": the reason before it is kept.
    expect(failed(new Error('None of startup nodes is available'))).toBe('None of startup nodes is available (self-signed certificate in certificate chain)');
    expect(said).toEqual(['self-signed certificate in certificate chain', 'Connection is closed.']);
    expect(JSON.stringify(said)).not.toContain('secret');
  });

  it('probes the TLS handshake of a rediss URL\'s first host only', async () => {
    expect(await tlsHandshakeError('redis+cluster://127.0.0.1:1,127.0.0.1:2')).toBeUndefined();
    expect(await tlsHandshakeError('redis://127.0.0.1:1')).toBeUndefined();
    // A plain TCP server is no TLS server: the handshake fails, and the reason names the host.
    const server = createServer((s) => s.end('-ERR not TLS\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await tlsHandshakeError(`rediss+cluster://u:p@127.0.0.1:${port},127.0.0.1:1`)).toMatch(new RegExp(`^TLS to 127\\.0\\.0\\.1:${port}: `));
      expect(await tlsHandshakeError(`rediss://127.0.0.1:${port}`)).toMatch(/^TLS to 127\.0\.0\.1/);
    } finally {
      server.close();
    }
  });
});
