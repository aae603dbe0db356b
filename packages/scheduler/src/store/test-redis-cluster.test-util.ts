import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { clientOptions, cliArgs, serverArgs, urlAuth, type RedisAccess } from './test-redis-access.test-util.js';
import { freePort } from './test-redis.test-util.js';

const run = promisify(execFile);
/** Nodes to kill should the test process exit without closing them (one listener for all). */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of LIVE) c.kill('SIGKILL');
});

/**
 * A real local Redis Cluster for tests: `masters` masters and as many replicas, each a
 * `redis-server --cluster-enabled yes` child on a free loopback port, joined by
 * `redis-cli --cluster create`. Its URL is `redis+cluster://` with every node.
 */
export interface TestRedisCluster {
  readonly url: string;
  readonly nodes: { port: number; child: ChildProcess }[];
  /** A connection to the cluster (typed as Redis: the commands tests send a Cluster has too). */
  connect(): Redis;
  /** The node serving `key`'s slot as master now. */
  masterOf(key: string): Promise<{ port: number; child: ChildProcess }>;
  /**
   * kill -9 the master of `key`'s slot and wait until one of its replicas has taken over; then
   * the killed node starts again (same port and node file) and rejoins as a replica, so the
   * cluster can fail over again.
   */
  failover(key: string): Promise<{ killed: number; promoted: number }>;
  /** Keys per master (by port), for the slot distribution. */
  keysPerMaster(pattern: string): Promise<Map<number, number>>;
  /** Delete the keys matching `pattern` on every master (one key per command: no CROSSSLOT). */
  deleteKeys(pattern: string): Promise<void>;
  close(): Promise<void>;
}

/** redis-cli on the node at `port`. */
async function cli(access: RedisAccess, port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', [...cliArgs(access), '-p', String(port), ...args])).stdout;
}

async function startNode(dir: string, access: RedisAccess, port?: number): Promise<{ port: number; child: ChildProcess }> {
  port ??= await freePort();
  const child = spawn(
    'redis-server',
    [...serverArgs(access, port), ...(access.tls ? ['--tls-cluster', 'yes'] : []), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', '1000', '--dir', dir, '--save', '', '--appendonly', 'no',
      // A replica's first sync at once (not after 5 s): one that never synced cannot take over.
      '--repl-diskless-sync-delay', '0', '--logfile', join(dir, `node-${port}.log`)],
    { stdio: 'ignore' },
  );
  LIVE.add(child);
  child.once('exit', () => LIVE.delete(child));
  for (let i = 0; i < 100; i++) {
    if ((await cli(access, port, 'ping').catch(() => '')).trim() === 'PONG') return { port, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server --cluster-enabled on port ${port} did not answer within 5 s`);
}


async function nodeInfo(access: RedisAccess, port: number, what: 'info' | 'nodes'): Promise<string> {
  return cli(access, port, 'cluster', what);
}

/** `fn` with the keys matching `pattern` on each master, over a direct connection to it. */
async function eachMaster(access: RedisAccess, nodes: { port: number }[], pattern: string, fn: (port: number, keys: string[], c: Redis) => Promise<void>): Promise<void> {
  for (const n of nodes) {
    const c = new Redis({ ...clientOptions(access), port: n.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    c.on('error', () => undefined);
    try {
      if (!(await c.info('replication')).includes('role:master')) continue;
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      await fn(n.port, keys, c);
    } finally {
      c.disconnect();
    }
  }
}

/** `access`: TLS on every port (the cluster bus and replication too) and an ACL user; the URL says so. */
export async function startRedisCluster(masters = 3, access: RedisAccess = {}): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-cluster-'));
  const nodes = await Promise.all(Array.from({ length: masters * 2 }, () => startNode(dir, access)));
  await run('redis-cli', [...cliArgs(access), '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
  // Every node must agree the cluster is up and know every other before a client is let in.
  for (let i = 0; ; i++) {
    const states = await Promise.all(nodes.map(async (n) => (await nodeInfo(access, n.port, 'info')).includes('cluster_state:ok') && (await nodeInfo(access, n.port, 'nodes')).trim().split('\n').length === nodes.length));
    if (states.every(Boolean)) break;
    if (i > 200) throw new Error('the local Redis Cluster did not come up within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // And every replica has its master's data: a failover test may kill a master right away.
  for (const n of nodes) {
    for (let i = 0; ; i++) {
      const stdout = await cli(access, n.port, 'info', 'replication');
      if (stdout.includes('role:master') || stdout.includes('master_link_status:up')) break;
      if (i > 200) throw new Error(`the replica on port ${n.port} did not sync within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const url = `${access.tls ? 'rediss' : 'redis'}+cluster://${urlAuth(access)}${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  const connections: Cluster[] = [];
  const connect = (): Redis => {
    const c = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { ...clientOptions(access), maxRetriesPerRequest: 3 }, retryDelayOnFailover: 200 });
    c.on('error', () => undefined);
    connections.push(c);
    return c as unknown as Redis;
  };
  const alive = (): { port: number; child: ChildProcess }[] => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const masterOf = async (key: string): Promise<{ port: number; child: ChildProcess }> => {
    const some = alive()[0]!;
    const stdout = await cli(access, some.port, 'cluster', 'keyslot', key);
    const slot = Number(stdout.trim());
    for (const line of (await nodeInfo(access, some.port, 'nodes')).trim().split('\n')) {
      const f = line.split(' ');
      if (!f[2]!.includes('master') || f[2]!.includes('fail')) continue;
      for (const range of f.slice(8)) {
        const [lo, hi] = range.split('-').map(Number);
        if (slot >= lo! && slot <= (hi ?? lo!)) return nodes.find((n) => n.port === Number(/:(\d+)@/.exec(f[1]!)![1]))!;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  };
  return {
    url,
    nodes,
    connect,
    masterOf,
    async failover(key) {
      const victim = await masterOf(key);
      victim.child.kill('SIGKILL');
      for (let i = 0; i < 300; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const now = await masterOf(key);
          if (now.port !== victim.port) {
            const back = await startNode(dir, access, victim.port);
            victim.child = back.child;
            for (let j = 0; !(await cli(access, victim.port, 'info', 'replication')).includes('master_link_status:up'); j++) {
              if (j > 200) throw new Error(`the node on port ${victim.port} did not rejoin as a replica within 20 s`);
              await new Promise((r) => setTimeout(r, 100));
            }
            return { killed: victim.port, promoted: now.port };
          }
        } catch {
          // The slot has no master until the replica is promoted.
        }
      }
      throw new Error(`no replica took over from the master on port ${victim.port} within 30 s`);
    },
    async keysPerMaster(pattern) {
      const out = new Map<number, number>();
      await eachMaster(access, alive(), pattern, async (port, keys) => void out.set(port, keys.length));
      return out;
    },
    async deleteKeys(pattern) {
      await eachMaster(access, alive(), pattern, async (_port, keys, c) => {
        const p = c.pipeline();
        for (const k of keys) p.unlink(k);
        await p.exec();
      });
    },
    async close() {
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      for (const n of nodes) n.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
