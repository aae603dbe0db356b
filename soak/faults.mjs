// The soak's fault injector: at random intervals, one of these on a random target, at most two
// at once and never two on the same target. Every fault undoes itself before it returns (the
// process is restarted, the proxy forwards again, the disk is freed, maxmemory is lifted), so
// at the end the cluster is whole.
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited } from './cluster.mjs';

const rand = (lo, hi) => lo + Math.random() * (hi - lo);
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

/** Try `f` until it works (a port still held, a Redis still loading): a fault must be undone. */
async function until(what, f, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`soak: could not ${what}: ${e.message}`);
      await sleep(500);
    }
  }
}

/** Each fault: the target it holds and what it does. */
export const FAULTS = {
  'kill -9 worker': {
    target: (c) => `worker ${pick(c.workers.map((_, i) => i))}`,
    async run(c, target) {
      const slot = Number(target.split(' ')[1]);
      const w = c.workers[slot];
      c.end(w.child, 'SIGKILL');
      await exited(w.child);
      await sleep(rand(300, 3_000));
      await until(`restart ${target}`, () => c.startWorker(slot), 240_000);
    },
  },
  'kill -9 scheduler': {
    target: () => 'scheduler',
    async run(c) {
      c.end(c.scheduler, 'SIGKILL');
      await exited(c.scheduler);
      await sleep(rand(200, 2_000));
      await until('restart the scheduler', () => c.startScheduler());
    },
  },
  'SIGSTOP worker past its timeout': {
    target: (c) => `worker ${pick(c.workers.map((_, i) => i))}`,
    async run(c, target) {
      const w = c.workers[Number(target.split(' ')[1])];
      w.child.kill('SIGSTOP');
      await sleep(c.o.workerTimeoutMs + rand(500, 3_000));
      w.child.kill('SIGCONT');
    },
  },
  'restart Redis': {
    target: () => 'redis',
    async run(c) {
      // Half the time kill -9: with appendfsync always the AOF has every acknowledged write.
      c.end(c.redisChild, Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM');
      await exited(c.redisChild);
      await sleep(rand(300, 2_000));
      await until('restart Redis', () => c.startRedis());
    },
  },
  'stall a peer mid-transfer': {
    target: () => 'proxy',
    async run(c) {
      c.proxy.stall();
      await sleep(rand(2_000, 8_000));
      c.proxy.resume();
    },
  },
  'spill disk full': {
    target: () => 'disk',
    enabled: (c) => c.spillDir !== undefined,
    async run(c) {
      const filler = join(c.spillDir, 'filler');
      const fd = openSync(filler, 'w');
      const block = Buffer.alloc(64 * 1024);
      try {
        for (let i = 0; i < 4096; i++) writeSync(fd, block);
      } catch (e) {
        if (e.code !== 'ENOSPC') throw e;
      } finally {
        closeSync(fd);
      }
      await sleep(rand(3_000, 8_000));
      unlinkSync(filler);
    },
  },
  'Redis at maxmemory': {
    target: () => 'redis',
    async run(c) {
      const info = await c.redis.info('memory');
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
      await c.redis.config('SET', 'maxmemory', String(used + 256 * 1024));
      try {
        await sleep(rand(2_000, 5_000));
      } finally {
        await until('lift maxmemory', () => c.redis.config('SET', 'maxmemory', '0'), 30_000);
      }
    },
  },
};

export class FaultInjector {
  constructor(cluster, { minGapMs = 2_000, maxGapMs = 6_000, parallel = 2 } = {}) {
    this.c = cluster;
    this.o = { minGapMs, maxGapMs, parallel };
    this.busy = new Set();
    this.running = new Set();
    this.counts = Object.fromEntries(Object.keys(FAULTS).map((k) => [k, 0]));
    this.kinds = Object.entries(FAULTS).filter(([, f]) => !f.enabled || f.enabled(cluster));
    this.stopped = false;
    this.errors = [];
    /** When each fault began and ended (epoch ms), for reading a failure against them. */
    this.timeline = [];
  }

  /** Inject until stop(); resolves once every fault under way has been undone. */
  async run() {
    while (!this.stopped) {
      await sleep(rand(this.o.minGapMs, this.o.maxGapMs));
      if (this.stopped || this.running.size >= this.o.parallel) continue;
      const [name, f] = pick(this.kinds);
      const target = f.target(this.c);
      if (this.busy.has(target)) continue;
      this.busy.add(target);
      this.counts[name]++;
      const entry = { name, target, from: Date.now(), to: 0 };
      this.timeline.push(entry);
      const p = f
        .run(this.c, target)
        .then(() => (entry.to = Date.now()))
        .catch((e) => this.errors.push(`${name} on ${target}: ${e.message}`))
        .finally(() => {
          this.busy.delete(target);
          this.running.delete(p);
        });
      this.running.add(p);
    }
    await Promise.all(this.running);
  }

  stop() {
    this.stopped = true;
  }

  get total() {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}
