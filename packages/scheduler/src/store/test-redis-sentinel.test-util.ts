import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { clientOptions, cliArgs, serverArgs, urlAuth, type RedisAccess } from './test-redis-access.test-util.js';
import { freePort } from './test-redis.test-util.js';

const run = promisify(execFile);
export const SENTINEL_MASTER = 'tessera';

/**
 * A real Sentinel set up for tests: a master, a replica and three sentinels (quorum 2), each a
 * child process on a free loopback port. Its URL is `redis+sentinel://` with the sentinels.
 */
export interface TestRedisSentinel {
  readonly url: string;
  /** A connection to the master, found through the sentinels. */
  connect(): Redis;
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /** kill -9 the master, wait until the sentinels promoted the replica, then start the old master again (it rejoins as a replica). */
  failover(): Promise<{ killed: number; promoted: number }>;
  close(): Promise<void>;
}

/** Servers to kill should the test process exit without closing them (one listener for all). */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of LIVE) c.kill('SIGKILL');
});

function spawnServer(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  LIVE.add(child);
  child.once('exit', () => LIVE.delete(child));
  return child;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `access`: the servers and the sentinels over TLS, the servers with an ACL user, and the sentinels
 * with their own password (`sentinelPassword`, which the URL then carries).
 */
export async function startRedisSentinel(access: RedisAccess & { sentinelPassword?: string } = {}): Promise<TestRedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-sentinel-'));
  const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', [...cliArgs(access), '-p', String(port), ...args])).stdout;
  const { sentinelPassword, tls } = access;
  const sentinelCli = async (port: number, ...args: string[]): Promise<string> =>
    (await run('redis-cli', [...cliArgs({ ...(tls ? { tls } : {}) }), ...(sentinelPassword ? ['-a', sentinelPassword, '--no-auth-warning'] : []), '-p', String(port), ...args])).stdout;
  const data = async (port: number, replicaOf?: number): Promise<ChildProcess> => {
    const args = [...serverArgs(access, port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const child = spawnServer(args);
    await waitFor(`redis-server on port ${port}`, async () => (await cli(port, 'ping')).trim() === 'PONG');
    return child;
  };
  const ports = [await freePort(), await freePort()];
  const servers = new Map<number, ChildProcess>([[ports[0]!, await data(ports[0]!)]]);
  servers.set(ports[1]!, await data(ports[1]!, ports[0]!));
  await waitFor('the replica to sync', async () => (await cli(ports[1]!, 'info', 'replication')).includes('master_link_status:up'));
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const sentinels = sentinelPorts.map((port) => {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        ...(tls
          ? ['port 0', `tls-port ${port}`, `tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`, `tls-ca-cert-file ${tls.ca}`, 'tls-auth-clients no', 'tls-replication yes']
          : [`port ${port}`]),
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${ports[0]} 2`,
        // After the monitor line (they name its master); quoted, as a config file's values may have spaces.
        ...(access.user ? [`sentinel auth-user ${SENTINEL_MASTER} ${JSON.stringify(access.user.name)}`, `sentinel auth-pass ${SENTINEL_MASTER} ${JSON.stringify(access.user.password)}`] : []),
        ...(sentinelPassword ? [`requirepass ${JSON.stringify(sentinelPassword)}`] : []),
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    return spawnServer([conf, '--sentinel']);
  });
  for (const p of sentinelPorts) {
    await waitFor(`sentinel on port ${p} to see the replica`, async () => (await sentinelCli(p, 'sentinel', 'replicas', SENTINEL_MASTER)).includes(String(ports[1])));
  }
  const query = sentinelPassword ? `?sentinelPassword=${encodeURIComponent(sentinelPassword)}` : '';
  const url = `${tls ? 'rediss' : 'redis'}+sentinel://${urlAuth(access)}${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${SENTINEL_MASTER}${query}`;
  const connections: Redis[] = [];
  const masterPort = async (): Promise<number> => {
    for (const p of sentinelPorts) {
      const out = await sentinelCli(p, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER).catch(() => '');
      const port = Number(out.trim().split('\n')[1]);
      if (port > 0) return port;
    }
    throw new Error('no sentinel names a master');
  };
  return {
    url,
    connect() {
      const options = clientOptions(access);
      const c = new Redis({
        ...options,
        sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
        name: SENTINEL_MASTER,
        maxRetriesPerRequest: 3,
        ...(sentinelPassword ? { sentinelPassword } : {}),
        ...(options.tls ? { sentinelTLS: options.tls, enableTLSForSentinelMode: true } : {}),
      });
      c.on('error', () => undefined);
      connections.push(c);
      return c;
    },
    masterPort,
    async failover() {
      const killed = await masterPort();
      servers.get(killed)!.kill('SIGKILL');
      let promoted = killed;
      await waitFor('the sentinels to promote the replica', async () => (promoted = await masterPort()) !== killed, 30_000);
      // Started as it was; the sentinels turn it into a replica of the new master.
      servers.set(killed, await data(killed));
      await waitFor('the old master to rejoin as a replica', async () => (await cli(killed, 'info', 'replication')).includes('master_link_status:up'), 30_000);
      return { killed, promoted };
    },
    async close() {
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      for (const s of [...servers.values(), ...sentinels]) s.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
