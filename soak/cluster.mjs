// The soak's cluster: its own redis-server (AOF, fsync always, noeviction), a scheduler and N
// workers started with the tessera CLI as users start them, worker 0 reached by its peers through
// a TCP proxy that can stall, worker 1 spilling into a small tmpfs that can be filled. It keeps
// each role's peak memory (VmHWM from /proc, the highest over restarts) and the output of every
// process for the report.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { StallProxy } from './proxy.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'packages/cli/bin/tessera.mjs');
const PREFIX = 'soak';

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function peakKiB(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Spawn and resolve once stdout matches `ready` (or reject with the output so far). */
function start(cmd, args, ready, name, log, dir) {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  // With a log folder, all of it too (one file per role, appended over restarts).
  const file = dir ? createWriteStream(join(dir, `${name.replace(/ /g, '-')}.log`), { flags: 'a' }) : undefined;
  if (file) child.once('exit', () => file.end());
  const keep = (s) => {
    tail.push(s);
    if (tail.length > 200) tail.shift();
    file?.write(s);
  };
  child.stdout.on('data', (d) => keep(`[${name}] ${d}`));
  child.stderr.on('data', (d) => keep(`[${name} err] ${d}`));
  log.set(name, tail);
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in 200 s:\n${tail.join('')}`));
    }, 200_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code ?? signal} before it was ready:\n${tail.join('')}`));
    });
  });
}

export const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

export class SoakCluster {
  constructor(o) {
    this.o = { workers: 3, heartbeatMs: 250, workerTimeoutMs: 2_000, memoryLimit: '24MiB', endedTtlMs: 15_000, ...o };
    this.dir = o.dir;
    this.logs = new Map();
    this.peaks = new Map(); // role -> KiB
    this.workers = []; // slot -> { id, child, port }
    this.restarts = 0;
    /** Processes that exited with no fault or stop() ending them: each a failure of the run. */
    this.crashes = [];
  }

  /** End a process on purpose (a fault, or stop()): its exit is not a crash. */
  end(child, signal) {
    child.soakEnded = true;
    child.kill(signal);
  }

  /** Note a process's exit that nothing here asked for, with its last output (the stack, where it threw). */
  watch(name, child) {
    child.once('exit', (code, signal) => {
      if (child.soakEnded || this.stopping) return;
      const last = this.tail(name, 30).split('\n').filter((l) => !l.includes('"level":30')).slice(-15).join('\n    ');
      this.crashes.push(`${name} exited on its own (${code ?? signal}) at ${new Date().toISOString()}:\n    ${last}`);
      console.log(`soak: ${name} exited on its own (${code ?? signal})`);
    });
    return child;
  }

  get redisUrl() {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  async start() {
    mkdirSync(this.dir, { recursive: true });
    this.redisPort = await freePort();
    await this.startRedis();
    this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: 3, retryStrategy: () => 200 });
    this.redis.on('error', () => undefined);
    this.schedulerPort = await freePort();
    await this.startScheduler();
    this.url = `http://127.0.0.1:${this.schedulerPort}`;
    this.spillDir = await this.mountSpill();
    this.proxy = new StallProxy();
    for (let slot = 0; slot < this.o.workers; slot++) {
      if (slot === 0) {
        this.workers[0] = { port: await freePort() };
        await this.proxy.listen('127.0.0.2', this.workers[0].port, '127.0.0.1', this.workers[0].port);
      }
      await this.startWorker(slot);
    }
    this.sampler = setInterval(() => this.sample(), 500);
    await this.waitWorkers(this.o.workers);
  }

  async startRedis() {
    const args = ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes'];
    args.push('--appendfsync', 'always', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no');
    this.redisChild = this.watch('redis', await start('redis-server', args, /Ready to accept connections/, 'redis', this.logs, this.o.logDir));
  }

  async startScheduler() {
    const o = this.o;
    const args = [BIN, 'scheduler', '--redis', this.redisUrl, '--port', String(this.schedulerPort), '--prefix', PREFIX];
    args.push(
      '--heartbeat-ms',
      String(o.heartbeatMs),
      '--worker-timeout-ms',
      String(o.workerTimeoutMs),
      '--ended-graph-ttl-ms',
      String(o.endedTtlMs),
    );
    this.scheduler = this.watch('scheduler', await start(process.execPath, args, /listening on/, 'scheduler', this.logs, this.o.logDir));
  }

  async startWorker(slot) {
    const id = `w${slot}-${this.restarts++}`;
    const args = [
      BIN,
      'worker',
      '--redis',
      this.redisUrl,
      '--scheduler',
      `http://127.0.0.1:${this.schedulerPort}`,
      '--id',
      id,
      '--threads',
      '1',
    ];
    // A worker restarted while the scheduler is away waits for it (a scheduler restart can take a while under faults).
    args.push('--memory-limit', this.o.memoryLimit, '--shutdown-timeout-ms', '3000', '--discovery-timeout-ms', '180000');
    // Worker 0's peers reach it through the proxy (127.0.0.2 -> 127.0.0.1, same port).
    if (slot === 0) args.push('--port', String(this.workers[0].port), '--host', '127.0.0.2');
    if (slot === 1 && this.spillDir) args.push('--spill-dir', this.spillDir);
    const child = this.watch(`worker ${slot}`, await start(process.execPath, args, /serving chunks at/, `worker ${slot}`, this.logs, this.o.logDir));
    this.workers[slot] = { ...this.workers[slot], id, child };
    return this.workers[slot];
  }

  /** A 64 MiB tmpfs for worker 1's spill folder (root only; elsewhere that fault is left out). */
  async mountSpill() {
    const dir = join(this.dir, 'spill');
    mkdirSync(dir, { recursive: true });
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]).status !== 0) return undefined;
    this.mounted = dir;
    return dir;
  }

  /** Workers registered with the scheduler (its /api/workers). */
  async liveWorkers() {
    try {
      const res = await fetch(`${this.url}/api/workers`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? (await res.json()).workers.length : 0;
    } catch {
      return 0;
    }
  }

  async waitWorkers(n, ms = 60_000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await this.liveWorkers()) >= n) return true;
      await sleep(200);
    }
    return false;
  }

  sample() {
    const roles = [['redis', this.redisChild], ['scheduler', this.scheduler], ...this.workers.map((w, i) => [`worker ${i}`, w.child])];
    for (const [role, c] of roles) if (c?.pid) this.peaks.set(role, Math.max(this.peaks.get(role) ?? 0, peakKiB(c.pid)));
  }

  /** Sample a client process too (the run loop adds them). */
  sampleChild(role, child) {
    if (child?.pid) this.peaks.set(role, Math.max(this.peaks.get(role) ?? 0, peakKiB(child.pid)));
  }

  /** Keys that stay (no TTL: those expire by themselves), the cluster's and BullMQ's. */
  async keys() {
    const out = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'COUNT', 1000);
      if (keys.length) {
        const pipe = this.redis.pipeline();
        for (const k of keys) pipe.pttl(k);
        const ttls = await pipe.exec();
        keys.forEach((k, i) => ttls[i][1] === -1 && out.push(k));
      }
      cursor = next;
    } while (cursor !== '0');
    return out.sort();
  }

  /**
   * Those, less the graph index: an id of a graph that expired unreleased stays in it until the
   * scheduler prunes it (past the staging TTL, 10 min), so it is reported on its own.
   */
  async keyCount() {
    return (await this.keys()).filter((k) => k !== `${PREFIX}:graphs`).length;
  }

  async indexed() {
    return this.redis.zcard(`${PREFIX}:graphs`);
  }

  /** The sum of every live worker's `tessera_worker_tasks_total` (re-read each call). */
  async workerTaskRuns() {
    const runs = new Map();
    for (const w of this.workers) {
      if (!w.child || w.child.exitCode !== null || w.child.signalCode !== null) continue;
      const port = w.port ?? (await this.portOf(w));
      if (!port) continue;
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
        let n = 0;
        for (const m of text.matchAll(/^tessera_worker_tasks_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
        runs.set(w.id, n);
      } catch {
        // a stopped or stalled worker: its last reading stands
      }
    }
    return runs;
  }

  async portOf(w) {
    const tail = this.logs.get(`worker ${this.workers.indexOf(w)}`)?.join('') ?? '';
    const m = [...tail.matchAll(/serving chunks at http:\/\/[^:]+:(\d+)/g)].pop();
    return m ? Number(m[1]) : undefined;
  }

  tail(name, lines = 40) {
    return (this.logs.get(name) ?? []).join('').split('\n').slice(-lines).join('\n');
  }

  async stop() {
    this.stopping = true;
    clearInterval(this.sampler);
    this.sample();
    const children = [this.scheduler, ...this.workers.map((w) => w.child)].filter(Boolean);
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(children.map(exited)), sleep(8_000)]);
    for (const c of children) c.kill('SIGKILL');
    await this.proxy?.close();
    this.redis?.disconnect();
    this.redisChild?.kill('SIGKILL');
    if (this.redisChild) await exited(this.redisChild);
    if (this.mounted) spawnSync('umount', ['-l', this.mounted]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
