import type { Chunk, Dtype } from '@tessera/protocol';
import type { ChunkStore } from '../chunk-store.js';
import type { DeviceChunk } from '../gpu/buffers.js';

/** What the worker's GPU side does for its chunk store. */
export interface DeviceSide {
  readback(chunks: readonly DeviceChunk[]): Promise<Chunk[]>;
  /** Drop one reference to a device chunk's buffer. */
  release(d: DeviceChunk): void;
  /** A host copy of `d` now exists: the device copy becomes a cache of it (the runner's, bounded). */
  adopt(host: Chunk, d: DeviceChunk): void;
}

interface DeviceEntry {
  chunk: DeviceChunk;
  holders: Set<string>;
  pinned: boolean;
  reading?: Promise<Chunk>;
}

/**
 * The chunks a worker holds: on its host (ChunkStore), or, for results of GPU tasks, in device
 * memory only, until a CPU task, a peer, the client or device memory pressure needs them on the
 * host. Then a chunk is read back once (concurrent readers share the readback, and the readbacks
 * asked for in one turn of the event loop are one submission), moves to the host
 * store with its holders, and its device copy stays as a cache for later GPU tasks. A GPU task
 * reads a device-only chunk in place: a chain of GPU tasks never reads back in between.
 */
export class WorkerChunks {
  private readonly device = new Map<string, DeviceEntry>();
  /** Keys of device chunks put here (a task's input names no key); kept after a readback, which a task may race. */
  private readonly keyOf = new WeakMap<DeviceChunk, string>();
  private deviceBytes = 0;
  /** Readbacks asked for in this turn of the event loop: they go to the device as one submission. */
  private batch: { key: string; e: DeviceEntry; done: (c: Chunk) => void; failed: (err: unknown) => void }[] = [];
  /** Device-only chunks read back to the host, and their bytes. */
  readbacks = 0;
  readbackBytes = 0;

  constructor(
    readonly host: ChunkStore,
    private readonly side: () => DeviceSide | undefined,
    /** Device bytes that device-only chunks may hold before the oldest are read back (evicted). */
    private readonly budget: () => number,
  ) {}

  get count(): number {
    return this.host.count + this.device.size;
  }

  /** Bytes held, on the host and in device memory (a chunk's host size either way). */
  get nbytes(): number {
    return this.host.nbytes + this.deviceBytes;
  }

  /** Bytes of the chunks held in device memory only. */
  get onDeviceBytes(): number {
    return this.deviceBytes;
  }

  has(key: string): boolean {
    return this.host.has(key) || this.device.has(key);
  }

  /** The chunk as it is held: on the host, or in device memory when that is the only copy. */
  get(key: string): Chunk | DeviceChunk | undefined {
    return this.host.get(key) ?? this.device.get(key)?.chunk;
  }

  /** dtype, shape and host size of a chunk held, wherever it is. */
  meta(key: string): { dtype: Dtype; shape: readonly number[]; nbytes: number } | undefined {
    const h = this.host.get(key);
    if (h) return { dtype: h.dtype, shape: h.shape, nbytes: h.data.byteLength };
    return this.device.get(key)?.chunk;
  }

  put(key: string, chunk: Chunk, holder: string): void {
    this.host.put(key, chunk, holder);
  }

  /** A GPU task's result, kept on the device (the store takes its reference). */
  putDevice(key: string, chunk: DeviceChunk, holder: string): void {
    if (this.hold(key, holder)) {
      this.side()?.release(chunk);
      return;
    }
    this.device.set(key, { chunk, holders: new Set([holder]), pinned: false });
    this.keyOf.set(chunk, key);
    this.deviceBytes += chunk.nbytes;
    this.trim();
  }

  hold(key: string, holder: string): boolean {
    if (this.host.hold(key, holder)) return true;
    const e = this.device.get(key);
    e?.holders.add(holder);
    return e !== undefined;
  }

  pin(key: string): void {
    this.host.pin(key);
    const e = this.device.get(key);
    if (e) e.pinned = true;
  }

  unpin(key: string): void {
    this.host.unpin(key);
    const e = this.device.get(key);
    if (!e) return;
    e.pinned = false;
    if (e.holders.size === 0) this.drop(key, e);
  }

  release(key: string, holder: string): void {
    this.host.release(key, holder);
    const e = this.device.get(key);
    if (!e) return;
    e.holders.delete(holder);
    if (e.holders.size === 0 && !e.pinned) this.drop(key, e);
  }

  /**
   * Let go of every chunk `holder` holds, pinned ones too: the scheduler took this worker for
   * dead and recomputed them elsewhere, so nobody will ask for them or free them. Returns how many.
   */
  dropAll(holder: string): number {
    const keys = [...this.host.keys(), ...this.device.keys()];
    for (const k of keys) {
      this.unpin(k);
      this.release(k, holder);
    }
    return keys.length;
  }

  /** The chunk on the host, read back from the device first when that is its only copy. */
  async read(key: string): Promise<Chunk | undefined> {
    const h = this.host.get(key);
    if (h) return h;
    const e = this.device.get(key);
    if (!e) return undefined;
    return (e.reading ??= this.readBack(key, e).catch((err: unknown) => {
      // The device failed: a later reader may try again.
      delete e.reading;
      throw err;
    }));
  }

  /** A device-only chunk's host copy (a CPU task got it as an input); read back if it is not one of ours. */
  async hostOf(d: DeviceChunk): Promise<Chunk> {
    const key = this.keyOf.get(d);
    const c = key === undefined ? undefined : await this.read(key);
    if (c) return c;
    const [copy] = await this.needSide().readback([d]);
    return copy!;
  }

  /** Read back device-only chunks, oldest first, until `bytes` of device memory are freed (or none are left). */
  async evict(bytes: number): Promise<void> {
    const victims: [string, DeviceEntry][] = [];
    let freed = 0;
    for (const [key, e] of this.device) {
      if (freed >= bytes) break;
      if (e.reading) continue;
      victims.push([key, e]);
      freed += e.chunk.nbytes;
    }
    await Promise.all(victims.map(([key]) => this.read(key)));
  }

  private readBack(key: string, e: DeviceEntry): Promise<Chunk> {
    return new Promise((done, failed) => {
      this.batch.push({ key, e, done, failed });
      if (this.batch.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    let chunks: Chunk[];
    try {
      chunks = await this.needSide().readback(batch.map((b) => b.e.chunk));
    } catch (err) {
      for (const b of batch) b.failed(err);
      return;
    }
    batch.forEach((b, i) => b.done(this.arrived(b.key, b.e, chunks[i]!)));
  }

  /** A chunk read back: it moves to the host store with its holders (unless it was freed meanwhile). */
  private arrived(key: string, e: DeviceEntry, chunk: Chunk): Chunk {
    this.readbacks++;
    this.readbackBytes += chunk.data.byteLength;
    // Dropped while it was read (a free): the reader still gets its copy, nobody keeps it.
    if (this.device.get(key) !== e) return chunk;
    this.forget(key, e);
    // The holders move with it; a pinned chunk with none keeps its pin alone.
    const [first = '(pinned)', ...rest] = e.holders;
    this.host.put(key, chunk, first);
    for (const h of rest) this.host.hold(key, h);
    if (e.pinned) this.host.pin(key);
    if (e.holders.size === 0) this.host.release(key, first);
    this.side()?.adopt(chunk, e.chunk);
    return chunk;
  }

  private drop(key: string, e: DeviceEntry): void {
    this.forget(key, e);
    this.side()?.release(e.chunk);
  }

  private forget(key: string, e: DeviceEntry): void {
    this.device.delete(key);
    this.deviceBytes -= e.chunk.nbytes;
  }

  /** Over budget: the oldest device-only chunks go to the host (in the background). */
  private trim(): void {
    const over = this.deviceBytes - this.budget();
    if (over > 0) void this.evict(over).catch(() => undefined);
  }

  private needSide(): DeviceSide {
    const s = this.side();
    if (!s) throw new Error('a chunk is on a GPU this worker no longer has');
    return s;
  }
}
