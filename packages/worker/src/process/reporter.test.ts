import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { WorkerReport, unpackMessage, type ReportItem } from '@tessera/protocol';
import { Log } from './log.js';
import { Reporter, dropFinishedStarts } from './reporter.js';

const key = (i: number): string => `full-0123456789abcdef:${i}`;
const started = (i: number, graph = 'g'): ReportItem => ({ type: 'started', graph, key: key(i), start: 1, thread: 0 });
const done = (i: number, graph = 'g'): ReportItem => ({ type: 'done', graph, key: key(i), nbytes: 8, start: 1, stop: 2 });

/** Just enough of ioredis for the reporter: XADD, failing the first `failures` calls. */
function fakeRedis(failures = 0): { redis: Redis; entries: WorkerReport[]; calls: () => number } {
  const entries: WorkerReport[] = [];
  let calls = 0;
  const redis = {
    xadd: async (_stream: string, _id: string, _field: string, message: Buffer) => {
      calls++;
      if (calls <= failures) throw new Error("READONLY You can't write against a read only replica");
      entries.push(unpackMessage(WorkerReport, message, 'report'));
      return '1-0';
    },
  } as unknown as Redis;
  return { redis, entries, calls: () => calls };
}

const quiet = new Log('test', 60_000, () => undefined);

describe('Reporter', () => {
  it('drops a started item whose outcome is in the same batch, keeps the others in order', () => {
    expect(dropFinishedStarts([started(1), started(2), done(1), started(1, 'h')])).toEqual([started(2), done(1), started(1, 'h')]);
    // Another run of the same task: its start is news.
    const rerun: ReportItem = { ...started(1), attempt: 1 };
    expect(dropFinishedStarts([rerun, done(1)])).toEqual([rerun, done(1)]);
  });

  it('writes what one macrotask reported as one entry, and resolves only once it is written', async () => {
    const { redis, entries } = fakeRedis();
    const r = new Reporter(redis, 's', 'w1', quiet);
    r.note(started(1));
    let written = false;
    const p = Promise.all([r.report(done(1)), r.report(done(2))]).then(() => (written = true));
    expect(written).toBe(false);
    await p;
    expect(entries).toHaveLength(1);
    expect(entries[0]!.worker).toBe('w1');
    expect(entries[0]!.items.map((i) => `${i.type} ${i.key}`)).toEqual([`done ${key(1)}`, `done ${key(2)}`]);
  });

  it('caps an entry at 512 items', async () => {
    const { redis, entries } = fakeRedis();
    const r = new Reporter(redis, 's', 'w1', quiet);
    await Promise.all(Array.from({ length: 1100 }, (_, i) => r.report(done(i))));
    expect(entries.map((e) => e.items.length)).toEqual([512, 512, 76]);
    expect(entries.flatMap((e) => e.items.map((i) => i.key))).toEqual(Array.from({ length: 1100 }, (_, i) => key(i)));
  });

  it('retries a failed write until Redis takes it', async () => {
    const { redis, entries, calls } = fakeRedis(2);
    const r = new Reporter(redis, 's', 'w1', quiet);
    await r.report(done(1));
    expect(calls()).toBe(3);
    expect(entries).toHaveLength(1);
  });

  it('close() gives up on a Redis that never answers, releasing the waiters', async () => {
    const redis = { xadd: () => new Promise(() => undefined) } as unknown as Redis;
    const r = new Reporter(redis, 's', 'w1', quiet);
    const p = r.report(done(1));
    await r.close(50);
    await p;
  });
});
