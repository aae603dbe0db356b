import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Chunk } from '@tessera/protocol';
import { ChunkStore } from './chunk-store.js';
import type { DeviceChunk } from '../gpu/buffers.js';
import { chunkOf, openTestRunner } from '../gpu/gpu.test-util.js';
import type { GpuRunner } from '../gpu/runner.js';
import { SpillFiles } from './spill-files.js';
import { WorkerChunks, type DeviceSide } from './worker-chunks.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

// A real device (lavapipe in CI): chunks go up with upload and come back with readback.
let gpu: GpuRunner;
beforeAll(async () => {
  gpu = await openTestRunner();
});
afterAll(() => gpu?.close());

/** A store over the device, with what it adopted as caches (host data -> device chunk). */
function store(budget = Infinity): { chunks: WorkerChunks; adopted: Map<ArrayBufferView, DeviceChunk>; submissions: number[] } {
  const adopted = new Map<ArrayBufferView, DeviceChunk>();
  // Chunks per readback submission.
  const submissions: number[] = [];
  const side: DeviceSide = {
    readback: (c) => {
      submissions.push(c.length);
      return gpu.readback(c);
    },
    release: (c) => gpu.release(c),
    adopt: (h, c) => adopted.set(h.data, c),
  };
  return {
    chunks: new WorkerChunks(
      new ChunkStore(),
      () => side,
      () => budget,
    ),
    adopted,
    submissions,
  };
}

const up = (values: number[]): DeviceChunk => gpu.upload(chunkOf('float32', [values.length], values));

describe('WorkerChunks', () => {
  it('keeps a GPU result in device memory until the host asks, then reads it back once for every reader', async () => {
    const { chunks, adopted } = store();
    const d = up([1, 2, 3, 4]);
    const before = gpu.stats().readbacks;
    chunks.putDevice('a-00000000:0', d, 'cluster');
    expect(chunks.has('a-00000000:0')).toBe(true);
    expect(chunks.get('a-00000000:0')).toBe(d);
    expect(chunks.meta('a-00000000:0')).toMatchObject({ dtype: 'float32', shape: [4], nbytes: 16 });
    expect(chunks.onDeviceBytes).toBe(16);
    expect(gpu.stats().readbacks).toBe(before);
    // Two readers at once share one readback; the chunk then lives on the host, its device copy a cache.
    const [x, y] = await Promise.all([chunks.read('a-00000000:0'), chunks.read('a-00000000:0')]);
    expect(x).toBe(y);
    expect([...x!.data]).toEqual([1, 2, 3, 4]);
    expect(gpu.stats().readbacks).toBe(before + 1);
    expect(chunks.get('a-00000000:0')).toBe(x);
    expect(chunks.onDeviceBytes).toBe(0);
    expect(adopted.get(x!.data)).toBe(d);
    expect(await chunks.hostOf(d)).toEqual(x);
    expect(gpu.stats().readbacks).toBe(before + 1);
  });

  it('reads back the chunks asked for in one turn as one submission', async () => {
    const { chunks, submissions } = store();
    const keys = [0, 1, 2].map((i) => `g-00000000:${i}`);
    keys.forEach((k, i) => chunks.putDevice(k, up([i, i + 0.5]), 'g'));
    const got = await Promise.all(keys.map((k) => chunks.read(k)));
    expect(got.map((c) => [...c!.data])).toEqual([
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
    ]);
    expect(submissions).toEqual([3]);
  });

  it('moves holders and pins with the chunk; frees the device buffer when the last holder lets go', async () => {
    const { chunks } = store();
    const live = gpu.stats().liveBytes;
    const d = up([5, 6]);
    chunks.putDevice('b-00000000:0', d, 'g1');
    expect(chunks.hold('b-00000000:0', 'g2')).toBe(true);
    chunks.release('b-00000000:0', 'g1');
    expect(chunks.has('b-00000000:0')).toBe(true);
    chunks.release('b-00000000:0', 'g2');
    expect(chunks.has('b-00000000:0')).toBe(false);
    expect(gpu.stats().liveBytes).toBe(live);
    // Pinned, read back with holders: still pinned on the host, and still held by each.
    chunks.putDevice('c-00000000:0', up([7]), 'g1');
    chunks.hold('c-00000000:0', 'g2');
    chunks.pin('c-00000000:0');
    await chunks.read('c-00000000:0');
    chunks.release('c-00000000:0', 'g1');
    chunks.release('c-00000000:0', 'g2');
    expect(chunks.has('c-00000000:0')).toBe(true);
    chunks.unpin('c-00000000:0');
    expect(chunks.has('c-00000000:0')).toBe(false);
    // A second result under a key already held is dropped, and its buffer with it.
    chunks.putDevice('e-00000000:0', up([1]), 'g1');
    const dup = up([1]);
    const held = gpu.stats().liveBytes;
    chunks.putDevice('e-00000000:0', dup, 'g2');
    expect(gpu.stats().liveBytes).toBeLessThan(held);
    expect(chunks.get('e-00000000:0')).not.toBe(dup);
  });

  it('over its device budget, reads the oldest GPU results back to the host', async () => {
    const { chunks } = store(40);
    chunks.putDevice('f-00000000:0', up(Array.from({ length: 8 }, (_, i) => i)), 'g');
    chunks.putDevice('f-00000000:1', up(Array.from({ length: 8 }, (_, i) => 10 + i)), 'g');
    // 64 bytes on the device against 40: the older one goes to the host.
    await vi.waitFor(() => expect(chunks.onDeviceBytes).toBe(32));
    const first = chunks.get('f-00000000:0');
    expect(first && 'data' in first ? [...first.data] : undefined).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(chunks.get('f-00000000:1')).toHaveProperty('buffer');
    expect(chunks.nbytes).toBe(64);
  });
});

describe('WorkerChunks spilling to disk', () => {
  const f64 = (values: number[]): Chunk => ({ dtype: 'float64', shape: [values.length], data: Float64Array.from(values) });
  const key = (i: number): string => `s-00000000:${i}`;

  it('writes the oldest idle chunks to disk past its target, reads one back when asked, skips chunks in use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-spill-test-'));
    const spilled = (): string[] => readdirSync(join(dir, 'w'));
    try {
      const files = new SpillFiles(join(dir, 'w'));
      // 40-byte chunks; over 130 bytes in memory, the oldest idle ones go until 50 are left.
      const chunks = new WorkerChunks(
        new ChunkStore(),
        () => undefined,
        () => 0,
        { files, high: 130, low: 50, resident: 'cluster' },
      );
      chunks.put(key(0), f64([0, 0, 0, 0, 0]), 'cluster');
      // In use by a running task: never spilled, old as it is.
      chunks.hold(key(0), 'task-input:1');
      for (let i = 1; i < 4; i++) chunks.put(key(i), f64([i, i, i, i, i]), 'cluster');
      await vi.waitFor(() => expect(chunks.spills).toBe(3));
      expect([chunks.host.nbytes, chunks.onDiskBytes, chunks.nbytes]).toEqual([40, 120, 40]);
      expect(chunks.get(key(0))).toBeDefined();
      expect(chunks.has(key(1))).toBe(true);
      expect(chunks.get(key(1))).toBeUndefined();
      expect(chunks.meta(key(1))).toMatchObject({ dtype: 'float64', shape: [5], nbytes: 40 });
      expect(spilled()).toHaveLength(3);
      // Read back: the same values, in memory again, its file gone.
      const back = await chunks.read(key(1));
      expect([...back!.data]).toEqual([1, 1, 1, 1, 1]);
      expect(chunks.get(key(1))).toBe(back);
      expect(chunks.onDiskBytes).toBe(80);
      await vi.waitFor(() => expect(spilled()).toHaveLength(2));
      // Freed while on disk: the files go too.
      chunks.release(key(2), 'cluster');
      chunks.release(key(3), 'cluster');
      expect(chunks.has(key(2))).toBe(false);
      await vi.waitFor(() => expect(spilled()).toHaveLength(0));
      expect(chunks.onDiskBytes).toBe(0);
      await files.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a full disk keeps the chunk in memory, removes the partial file, reports once per retry window and spills again when there is room', async () => {
    // A real full disk: a 64 KiB tmpfs (as root, which CI is); elsewhere a folder that cannot be
    // made (its parent is a file), so the writes fail all the same.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-spill-full-'));
    const tiny = join(dir, 'tiny');
    mkdirSync(tiny);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tiny]).status === 0;
    writeFileSync(join(dir, 'file'), '');
    const spillDir = mounted ? join(tiny, 'w') : join(dir, 'file', 'w');
    try {
      const files = new SpillFiles(spillDir);
      const failures: Error[] = [];
      // 24,000-byte chunks: two fit on the 64 KiB disk, the third does not.
      const big = (i: number): Chunk => ({ dtype: 'float64', shape: [3000], data: new Float64Array(3000).fill(i) });
      const chunks = new WorkerChunks(new ChunkStore(), () => undefined, () => 0, {
        files, high: 1, low: 0, resident: 'cluster', onFailure: (e) => failures.push(e),
      });
      for (let i = 0; i < 3; i++) chunks.put(key(i), big(i), 'cluster');
      await vi.waitFor(() => expect(chunks.spillFailures).toBeGreaterThan(0));
      await vi.waitFor(() => expect(chunks.spills + chunks.spillFailures).toBe(3));
      // Two fit, but the three writes run at once: a partial third can crowd out the second.
      const stored = chunks.spills;
      if (mounted) expect([1, 2]).toContain(stored);
      else expect(stored).toBe(0);
      // Within the retry window: no new write is tried, and the failure was reported once.
      chunks.put(key(3), big(3), 'cluster');
      expect(chunks.spills + chunks.spillFailures).toBe(3);
      expect(failures).toHaveLength(1);
      expect(failures[0]!.message).toMatch(mounted ? /ENOSPC/ : /ENOTDIR|EEXIST/);
      // Nothing lost: the chunk that did not fit is in memory with its values.
      const inMemory = [0, 1, 2, 3].filter((i) => chunks.get(key(i)) !== undefined);
      expect(inMemory.length).toBe(4 - stored);
      for (const i of inMemory) expect([...(chunks.get(key(i)) as Chunk).data].every((v) => v === i)).toBe(true);
      if (mounted) {
        // Only whole files on disk: the partial one went.
        expect(readdirSync(spillDir).map((f) => statSync(join(spillDir, f)).size)).toEqual(new Array<number>(stored).fill(24000));
        // Room again (the spilled chunks freed): after the window the rest go to disk.
        const failed = [0, 1, 2].find((i) => chunks.get(key(i)) !== undefined)!;
        const kept = [0, 1, 2].filter((i) => i !== failed);
        for (const i of kept) chunks.release(key(i), 'cluster');
        await vi.waitFor(() => expect(readdirSync(spillDir)).toHaveLength(0));
        await new Promise((r) => setTimeout(r, 2100));
        chunks.put(key(4), { dtype: 'float64', shape: [1], data: new Float64Array([4]) }, 'cluster');
        // After the window: the failed chunk, key 3 and key 4 go to disk (the released ones are gone).
        await vi.waitFor(() => expect(chunks.spills).toBe(stored + 3), { timeout: 5000 });
        expect(chunks.host.nbytes).toBe(0);
        expect([...(await chunks.read(key(failed)))!.data].every((v) => v === failed)).toBe(true);
      }
      await files.close();
    } finally {
      if (mounted) spawnSync('umount', [tiny]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
