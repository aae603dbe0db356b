import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';

/**
 * Where Redis is, as the `--redis` URL says: one server (`redis://`, `rediss://` with TLS), a
 * Redis Cluster (`redis+cluster://host:port,host:port`, any of its nodes; `rediss+cluster://`),
 * or a Sentinel group (`redis+sentinel://host:port,host:port/<master name>`). A user and
 * password go before the hosts as in any URL (`redis+cluster://user:pass@h:p,h:p`); for
 * Sentinel, `?sentinelPassword=` is the sentinels' own password where it differs.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: HostPort[]; tls: boolean; username?: string; password?: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; tls: boolean; username?: string; password?: string; sentinelPassword?: string };
export interface HostPort {
  host: string;
  port: number;
}

const SCHEMES = ['redis:', 'rediss:', 'redis+cluster:', 'rediss+cluster:', 'redis+sentinel:', 'rediss+sentinel:'];
export const REDIS_URL_EXAMPLES = 'redis://127.0.0.1:6379, redis+cluster://h1:7000,h2:7001 or redis+sentinel://h1:26379,h2:26379/mymaster';

/** Parse a Redis URL; anything else is an InvalidArgumentError that says what was wrong. */
export function parseRedisUrl(url: string): RedisTarget {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`Redis URL ${JSON.stringify(redactRedisUrl(url))}: ${why} (e.g. ${REDIS_URL_EXAMPLES})`);
  };
  const m = /^([a-z+]+:)\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (!m) return bad('not a URL');
  const scheme = m[1]!.toLowerCase();
  if (!SCHEMES.includes(scheme)) return bad(`the scheme must be one of ${SCHEMES.map((s) => s.slice(0, -1)).join(', ')}`);
  if (scheme === 'redis:' || scheme === 'rediss:') {
    if (!URL.canParse(url) || new URL(url).hostname === '') return bad('not a URL with a host');
    return { kind: 'single', url };
  }
  const tls = scheme.startsWith('rediss');
  const hosts = m[3]!.split(',').map((h) => {
    const hp = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/i.exec(h);
    if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return bad(`${JSON.stringify(h)} is not host:port`);
    return { host: hp[1]!.replace(/^\[|\]$/g, ''), port: Number(hp[2]) };
  });
  const auth = credentials(m[2], bad);
  const query = new URLSearchParams(m[5] ?? '');
  const path = (m[4] ?? '').replace(/^\//, '');
  if (scheme.endsWith('+cluster:')) {
    if (path !== '') return bad('a cluster URL has no path (a Redis Cluster has only database 0)');
    for (const k of query.keys()) bad(`unknown parameter ${JSON.stringify(k)}`);
    return { kind: 'cluster', nodes: hosts, tls, ...auth };
  }
  if (path === '' || path.includes('/')) return bad('a sentinel URL ends with /<master name>');
  const sentinelPassword = query.get('sentinelPassword') ?? undefined;
  for (const k of query.keys()) if (k !== 'sentinelPassword') bad(`unknown parameter ${JSON.stringify(k)}`);
  return { kind: 'sentinel', sentinels: hosts, name: decodeURIComponent(path), tls, ...auth, ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
}

function credentials(userinfo: string | undefined, bad: (why: string) => never): { username?: string; password?: string } {
  if (userinfo === undefined || userinfo === '') return {};
  const i = userinfo.indexOf(':');
  try {
    const username = decodeURIComponent(i < 0 ? userinfo : userinfo.slice(0, i));
    const password = i < 0 ? undefined : decodeURIComponent(userinfo.slice(i + 1));
    return { ...(username !== '' ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  } catch {
    return bad('its user or password is not URL-encoded');
  }
}

/** The URL with its password replaced by `***`, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@').replace(/([?&]sentinelPassword=)[^&#]*/, '$1***');
}

/**
 * A Redis connection's error in words, for logs and start-up failures: its message, and for a
 * Redis Cluster's "all nodes failed" the last node's reason (a wrong password, a certificate the
 * process does not trust). Never the error object itself: ioredis errors carry the command they
 * failed on, and an AUTH's arguments are the user and password.
 */
export function redisErrorReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const last = (e as { lastNodeError?: unknown }).lastNodeError;
  return last instanceof Error && last.message !== e.message ? `${e.message} (${redisErrorReason(last)})` : e.message;
}

/**
 * Calls `report` with each error of a connection in words (redisErrorReason), a Redis Cluster's
 * per-node errors included. Returns what a failed connect should say: its rejection is often only
 * "Connection is closed." where the error before it said why (a wrong password, a certificate).
 */
export function watchRedisErrors(r: { on(event: string, fn: (e: Error) => void): unknown }, report: (reason: string) => void): (e: unknown) => string {
  let seen: string | undefined;
  const note = (e: Error): void => {
    const why = redisErrorReason(e);
    if (!why.startsWith(CLOSED)) seen = why;
    report(why);
  };
  r.on('error', note);
  r.on('node error', note);
  return (e) => {
    const why = redisErrorReason(e);
    return seen && !why.includes(seen) ? `${why} (${seen})` : why;
  };
}
const CLOSED = 'Connection is closed';

/**
 * Why a TLS handshake with the first host of a `rediss` URL fails (a certificate the process does
 * not trust, a name it was not issued for), or undefined where it succeeds or the URL is not TLS:
 * asked after a failed connect, since ioredis's Cluster reports such a node as only closed.
 */
export async function tlsHandshakeError(url: string, timeoutMs = 3_000): Promise<string | undefined> {
  const t = parseRedisUrl(url);
  const first = t.kind === 'single' ? (url.startsWith('rediss:') ? new URL(url) : undefined) : t.tls ? (t.kind === 'cluster' ? t.nodes : t.sentinels)[0] : undefined;
  if (!first) return undefined;
  const host = first instanceof URL ? first.hostname : first.host;
  const port = first instanceof URL ? Number(first.port || 6379) : first.port;
  const { connect } = await import('node:tls');
  return new Promise((resolve) => {
    const socket = connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, timeout: timeoutMs }, () => {
      socket.end();
      resolve(undefined);
    });
    socket.once('error', (e) => resolve(`TLS to ${host}:${port}: ${e.message}`));
    socket.once('timeout', () => (socket.destroy(), resolve(undefined)));
  });
}

/** A zod check of a Redis URL, for every option that takes one (CLI flags, config files, API options). */
export const RedisUrl = z.string().superRefine((s, ctx) => {
  try {
    parseRedisUrl(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
  }
});

/** What openRedis needs of ioredis (protocol imports no client): its Redis and Cluster classes. */
export interface RedisClasses<R> {
  Redis: { new (url: string, options: object): R; new (options: object): R };
  Cluster: new (nodes: HostPort[], options: object) => R;
}

/**
 * A connection to the Redis a URL names, with ioredis options as for one server: for a Redis
 * Cluster they apply to every node's connection (and the cluster's own offline queue and lazy
 * connect); for Sentinel, to the master's connection, found through the sentinels.
 */
export function openRedis<R>(url: string, options: Record<string, unknown>, classes: RedisClasses<R>): R {
  const t = parseRedisUrl(url);
  if (t.kind === 'single') return new classes.Redis(url, options);
  const auth = { ...(t.username !== undefined ? { username: t.username } : {}), ...(t.password !== undefined ? { password: t.password } : {}) };
  const tls = t.tls ? { tls: {} } : {};
  if (t.kind === 'cluster') {
    const { lazyConnect, enableOfflineQueue } = options;
    return new classes.Cluster(t.nodes, {
      redisOptions: { ...options, ...auth, ...tls },
      ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      // A failover takes a replica seconds to win (node-timeout and an election): commands wait
      // it out, as they wait out a single server's restart, rather than fail after ioredis's 16
      // tries (about 5 s of CLUSTERDOWN). 1000 tries at 300 ms is 5 minutes.
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 2_000),
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 200,
      maxRedirections: 1_000,
      ...(tls.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    });
  }
  return new classes.Redis({
    ...options,
    sentinels: t.sentinels,
    name: t.name,
    ...auth,
    ...tls,
    ...(t.sentinelPassword !== undefined ? { sentinelPassword: t.sentinelPassword } : {}),
    ...(t.tls ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
  });
}
