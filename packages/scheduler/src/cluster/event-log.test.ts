import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EngineEvent, graphKeys, graphSideKeys } from '@tessera/protocol';
import { startRedisServer } from '../store/test-redis.test-util.js';
import { EventLog } from './event-log.js';
import { ResultStore } from './result-store.js';

let conn: Redis;
let stop: () => void;
beforeAll(async () => {
  const { url, child } = await startRedisServer();
  conn = new Redis(url, { maxRetriesPerRequest: 1 });
  stop = () => child.kill('SIGTERM');
});
afterAll(() => {
  conn.disconnect();
  stop();
});

const running = (graph: string): EngineEvent => ({ type: 'graph', graph, state: 'running', total: 2, done: 0 });
const finished = (graph: string): EngineEvent => ({ type: 'graph', graph, state: 'finished', total: 2, done: 2 });
const until = async (f: () => Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('EventLog and ResultStore side keys', () => {
  it("a batch Redis refused (maxmemory) is written once it has room, before later events: a graph's end is not lost", async () => {
    const log = new EventLog(conn, 'ev-full');
    await conn.hset(graphKeys('ev-full', 'g1').meta, 'state', 'running');
    const seen: string[] = [];
    const ac = new AbortController();
    const reading = (async () => {
      for await (const b of log.read('g1', undefined, ac.signal)) for (const e of b.events) if (e.type === 'graph') seen.push(e.state);
    })();
    await conn.config('SET', 'maxmemory-policy', 'noeviction');
    await conn.config('SET', 'maxmemory', '1');
    try {
      log.push(running('g1'));
      await log.flush();
      expect(await conn.exists(graphSideKeys('ev-full', 'g1').events)).toBe(0);
      expect(log.unwritten()).toBe(1);
    } finally {
      await conn.config('SET', 'maxmemory', '0');
    }
    log.push(finished('g1'));
    await reading;
    expect(seen).toEqual(['running', 'finished']);
    const entries = await conn.xrange(graphSideKeys('ev-full', 'g1').events, '-', '+');
    // In order (the retried batch may carry the later events with it).
    const states = entries.flatMap(([, f]) => (JSON.parse(f[1]!) as EngineEvent[]).map((e) => (e.type === 'graph' ? e.state : e.type)));
    expect(states).toEqual(['running', 'finished']);
    ac.abort();
    log.close();
  });

  it("writes nothing for a graph that is gone (a late batch would make its keys again, for ever), and gives an ended graph's side keys its TTL", async () => {
    const log = new EventLog(conn, 'ev-gone');
    const results = new ResultStore(conn, 'ev-gone');
    log.push(running('gone'));
    await log.flush();
    results.put(['gone'], 'k-0123456789abcdef:0', 'float64', [1], new Uint8Array(8));
    // An ended graph: its hashes expire; a batch or result written after that expires with them.
    const meta = graphKeys('ev-gone', 'ended').meta;
    await conn.hset(meta, 'state', 'finished');
    await conn.pexpire(meta, 60_000);
    log.push(running('ended'));
    await log.flush();
    results.put(['ended'], 'k-0123456789abcdef:0', 'float64', [1], new Uint8Array(8));
    await until(async () => (await conn.exists(graphSideKeys('ev-gone', 'ended').results)) === 1);
    expect(await conn.keys('ev-gone:*{gone}*')).toEqual([]);
    for (const k of [graphSideKeys('ev-gone', 'ended').events, graphSideKeys('ev-gone', 'ended').results]) {
      const ttl = await conn.pttl(k);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    log.close();
  });

  it('a graph over whose end never reached its stream (its scheduler was killed first) is said to be over, from its record', async () => {
    const log = new EventLog(conn, 'ev-end');
    await conn.hset(graphKeys('ev-end', 'g').meta, 'state', 'finished');
    log.push(running('g'));
    await log.flush();
    const got: string[] = [];
    for await (const b of log.read('g', undefined, new AbortController().signal, finished('g'))) {
      for (const e of b.events) if (e.type === 'graph') got.push(e.state);
    }
    expect(got).toEqual(['running', 'finished']);
    log.close();
  });
});
