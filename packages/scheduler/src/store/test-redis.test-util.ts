import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { startRedisCluster, type TestRedisCluster } from './test-redis-cluster.test-util.js';
import { startRedisSentinel } from './test-redis-sentinel.test-util.js';

/**
 * A real Redis for tests, found in this order: `REDIS_URL`; `redis:7` started with
 * testcontainers when a Docker engine answers; a server answering PING on 127.0.0.1:6379; a
 * `redis-server` child on a free port (no persistence). close() stops what it started.
 * Tests never share keys: each takes a fresh prefix and deletes it afterwards.
 */
export interface TestRedis {
  readonly url: string;
  /** Where it came from: 'REDIS_URL', 'localhost:6379' or 'child redis-server'. */
  readonly source: string;
  /** A new connection (closed by close()). */
  connect(): Redis;
  /** A key prefix no other test uses. */
  uniquePrefix(): string;
  /** Number of keys under `<prefix>:`. */
  keyCount(prefix: string): Promise<number>;
  deletePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

const INSTALL_HINT =
  'Tests need Redis 7: set REDIS_URL=redis://host:port, run redis-server on 127.0.0.1:6379, ' +
  'or install the redis-server binary (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).';

export async function testRedis(): Promise<TestRedis> {
  // The cluster suite again on a local Redis Cluster of 3 masters and 3 replicas.
  if (process.env.TESSERA_TEST_REDIS === 'cluster') return openCluster(await startRedisCluster());
  // And on a Sentinel group (a master, a replica, three sentinels).
  if (process.env.TESSERA_TEST_REDIS === 'sentinel') {
    const s = await startRedisSentinel();
    return open(s.url, 'local Sentinel group', undefined, () => s.close(), () => s.connect());
  }
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    if (!(await answers(fromEnv))) throw new Error(`REDIS_URL=${fromEnv} does not answer PING. ${INSTALL_HINT}`);
    return open(fromEnv, 'REDIS_URL');
  }
  const docker = await dockerRedis();
  if (docker) return open(docker.url, 'testcontainers redis:7', undefined, docker.stop);
  const local = 'redis://127.0.0.1:6379';
  if (await answers(local)) return open(local, 'localhost:6379');
  const { url, child } = await startRedisServer();
  return open(url, 'child redis-server', child);
}

function openCluster(c: TestRedisCluster): TestRedis {
  return {
    url: c.url,
    source: 'local Redis Cluster',
    connect: () => c.connect(),
    uniquePrefix: () => `tessera-test:${process.pid}-${randomUUID().slice(0, 8)}`,
    keyCount: async (prefix) => [...(await c.keysPerMaster(`${prefix}:*`)).values()].reduce((s, n) => s + n, 0),
    deletePrefix: (prefix) => c.deleteKeys(`${prefix}:*`),
    close: () => c.close(),
  };
}

function open(url: string, source: string, child?: ChildProcess, stop?: () => Promise<void>, make = (): Redis => new Redis(url, { maxRetriesPerRequest: 1 })): TestRedis {
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const c = make();
    connections.push(c);
    return c;
  };
  const admin = connect();
  const scan = async (prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };
  return {
    url,
    source,
    connect,
    uniquePrefix: () => `tessera-test:${process.pid}-${randomUUID().slice(0, 8)}`,
    keyCount: async (prefix) => (await scan(prefix)).length,
    deletePrefix: async (prefix) => {
      const keys = await scan(prefix);
      for (let i = 0; i < keys.length; i += 1000) await admin.unlink(...keys.slice(i, i + 1000));
    },
    close: async () => {
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      child?.kill('SIGTERM');
      await stop?.();
    },
  };
}

/** The Docker engine's socket, when one answers its ping (DOCKER_HOST over TCP is left to testcontainers). */
async function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return true;
  const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** redis:7 in a container, when a Docker engine answers (none does on these machines). */
async function dockerRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (!(await dockerAnswers())) return undefined;
  const { GenericContainer } = await import('testcontainers');
  const c = await new GenericContainer('redis:7').withExposedPorts(6379).start();
  return { url: `redis://${c.getHost()}:${c.getMappedPort(6379)}`, stop: async () => void (await c.stop()) };
}

export async function answers(url: string): Promise<boolean> {
  const c = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** Default: a free port. A restart passes the port it had. */
  port?: number;
  /** Append-only file on (fsync every second), kept in `dir`: the data survives a restart. */
  appendonly?: boolean;
  dir?: string;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  if (options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'everysec');
  else args.push('--appendonly', 'no');
  if (options.dir) args.push('--dir', options.dir);
  const child = spawn('redis-server', args, {
    stdio: 'ignore',
  });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(undefined));
  });
  if (spawned) throw new Error(`could not start redis-server (${spawned.message}). ${INSTALL_HINT}`);
  // A test run that dies must not leave a server behind.
  process.once('exit', () => child.kill('SIGTERM'));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await answers(url)) return { url, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`redis-server on port ${port} did not answer PING within 5 s. ${INSTALL_HINT}`);
}
