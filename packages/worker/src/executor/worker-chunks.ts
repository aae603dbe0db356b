import type { Chunk, Dtype } from '@tessera/protocol';
import type { ChunkStore } from './chunk-store.js';
import type { DeviceChunk } from '../gpu/buffers.js';
import type { SpillFiles } from './spill-files.js';

/** What the worker's GPU side does for its chunk store. */
export interface DeviceSide {
  readback(chunks: readonly DeviceChunk[]): Promise<Chunk[]>;
  /** Drop one reference to a device chunk's buffer. */
  release(d: DeviceChunk): void;
  /** A host copy of `d` now exists: the device copy becomes a cache of it (the runner's, bounded). */
  adopt(host: Chunk, d: DeviceChunk): void;
}

/** Where host memory over its target goes. */
export interface SpillOptions {
  files: SpillFiles;
  /** Host chunk bytes above which the oldest idle chunks are written to disk, down to `low`. */
  high: number;
  low: number;
  /** The one long-lived holder (the cluster's): a chunk someone else holds is in use, never spilled. */
  resident: string;
  /** A spill write failed (a full disk): the chunk stays in memory; called once per retry window. */
  onFailure?: (error: Error) => void;
}

/** After a failed spill write, no other is tried for this long (a full disk is not hammered). */
const SPILL_RETRY_MS = 2_000;

/** A chunk held away from host memory: in device memory (a GPU result) or on disk (spilled). */
type Away = { dtype: Dtype; shape: readonly number[]; nbytes: number; holders: Set<string>; pinned: boolean; reading?: Promise<Chunk> } & (
  { device: DeviceChunk; path?: undefined } | { path: string; device?: undefined }
);

/**
 * The chunks a worker holds: in host memory (ChunkStore), or away from it until someone needs
 * them there. A GPU task's result stays in device memory (a later GPU task reads it in place, so
 * a chain of GPU tasks never reads back in between), and idle host chunks go to disk when host
 * memory passes its target. A CPU task, a peer or the client reading a chunk away brings it back
 * once (concurrent readers share the read; readbacks asked for in one turn are one device
 * submission) and it returns to the host store with its holders; a device copy stays as a cache.
 */
export class WorkerChunks {
  private readonly away = new Map<string, Away>();
  /** Keys of device chunks put here (a task's input names no key); kept after a readback, which a task may race. */
  private readonly keyOf = new WeakMap<DeviceChunk, string>();
  private deviceBytes = 0;
  private deviceCount = 0;
  private diskBytes = 0;
  private diskCount = 0;
  /** Host chunks being written to disk now, and their bytes. */
  private readonly spilling = new Set<string>();
  private spillingBytes = 0;
  /** Readbacks asked for in this turn of the event loop: they go to the device as one submission. */
  private batch: { key: string; e: Away & { device: DeviceChunk }; done: (c: Chunk) => void; failed: (err: unknown) => void }[] = [];
  /** Device-only chunks read back to the host, and their bytes; chunks written to disk. */
  readbacks = 0;
  readbackBytes = 0;
  spills = 0;
  /** Bytes written to disk by spills, and spilled chunks read back (with their bytes), since start. */
  spillBytes = 0;
  unspills = 0;
  unspillBytes = 0;
  /** Spill writes that failed; while `spillRetryAt` is ahead, none is tried. */
  spillFailures = 0;
  private spillRetryAt = 0;

  constructor(
    readonly host: ChunkStore,
    private readonly side: () => DeviceSide | undefined,
    /** Device bytes that device-only chunks may hold before the oldest are read back (evicted). */
    private readonly budget: () => number,
    private readonly spill?: SpillOptions,
  ) {}

  get count(): number {
    return this.host.count + this.away.size;
  }

  /** Bytes held in memory, on the host and on the device (a chunk's host size either way). */
  get nbytes(): number {
    return this.host.nbytes + this.deviceBytes;
  }

  /** Chunks held in device memory only. */
  get onDeviceCount(): number {
    return this.deviceCount;
  }

  /** Bytes of the chunks held in device memory only. */
  get onDeviceBytes(): number {
    return this.deviceBytes;
  }

  /** What the heartbeat says of spilling: chunks and bytes on disk now, writes and reads since start. */
  spillStats(): { chunks: number; bytes: number; writes: number; writeBytes: number; reads: number; readBytes: number } {
    return { chunks: this.diskCount, bytes: this.diskBytes, writes: this.spills, writeBytes: this.spillBytes, reads: this.unspills, readBytes: this.unspillBytes };
  }

  /** Bytes of the chunks held on disk only. */
  get onDiskBytes(): number {
    return this.diskBytes;
  }

  has(key: string): boolean {
    return this.host.has(key) || this.away.has(key);
  }

  /** The chunk as it is held, without reading it back: on the host, or in device memory when that is its only copy. */
  get(key: string): Chunk | DeviceChunk | undefined {
    return this.host.get(key) ?? this.away.get(key)?.device;
  }

  /** dtype, shape and host size of a chunk held, wherever it is. */
  meta(key: string): { dtype: Dtype; shape: readonly number[]; nbytes: number } | undefined {
    const h = this.host.get(key);
    if (h) return { dtype: h.dtype, shape: h.shape, nbytes: h.data.byteLength };
    return this.away.get(key);
  }

  put(key: string, chunk: Chunk, holder: string): void {
    this.host.put(key, chunk, holder);
    this.spillIfOver();
  }

  /** A GPU task's result, kept on the device (the store takes its reference). */
  putDevice(key: string, chunk: DeviceChunk, holder: string): void {
    if (this.hold(key, holder)) {
      this.side()?.release(chunk);
      return;
    }
    const { dtype, shape, nbytes } = chunk;
    this.away.set(key, { dtype, shape, nbytes, device: chunk, holders: new Set([holder]), pinned: false });
    this.keyOf.set(chunk, key);
    this.deviceBytes += nbytes;
    this.deviceCount++;
    this.trimDevice();
  }

  hold(key: string, holder: string): boolean {
    if (this.host.hold(key, holder)) return true;
    const e = this.away.get(key);
    e?.holders.add(holder);
    return e !== undefined;
  }

  pin(key: string): void {
    this.host.pin(key);
    const e = this.away.get(key);
    if (e) e.pinned = true;
  }

  unpin(key: string): void {
    this.host.unpin(key);
    const e = this.away.get(key);
    if (!e) return;
    e.pinned = false;
    if (e.holders.size === 0) this.drop(key, e);
  }

  release(key: string, holder: string): void {
    this.host.release(key, holder);
    const e = this.away.get(key);
    if (!e) return;
    e.holders.delete(holder);
    if (e.holders.size === 0 && !e.pinned) this.drop(key, e);
  }

  /**
   * Let go of every chunk `holder` holds, pinned ones too: the scheduler took this worker for
   * dead and recomputed them elsewhere, so nobody will ask for them or free them. Returns how many.
   */
  dropAll(holder: string): number {
    const keys = [...this.host.keys(), ...this.away.keys()];
    for (const k of keys) {
      this.unpin(k);
      this.release(k, holder);
    }
    return keys.length;
  }

  /** The chunk in host memory, read back from the device or the disk first when it is away. */
  async read(key: string): Promise<Chunk | undefined> {
    const h = this.host.get(key);
    if (h) return h;
    const e = this.away.get(key);
    if (!e) return undefined;
    return (e.reading ??= this.bringBack(key, e).catch((err: unknown) => {
      // The device or the disk failed: a later reader may try again.
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
    const victims: string[] = [];
    let freed = 0;
    for (const [key, e] of this.away) {
      if (freed >= bytes) break;
      if (!e.device || e.reading) continue;
      victims.push(key);
      freed += e.nbytes;
    }
    await Promise.all(victims.map((key) => this.read(key)));
  }

  private bringBack(key: string, e: Away): Promise<Chunk> {
    if (e.path !== undefined)
      return this.spill!.files.read(e.path, e.dtype, e.shape).then((c) => {
        this.unspills++;
        this.unspillBytes += e.nbytes;
        return this.arrived(key, e, c);
      });
    const onDevice = e as Away & { device: DeviceChunk };
    return new Promise((done, failed) => {
      this.batch.push({ key, e: onDevice, done, failed });
      if (this.batch.length === 1) setImmediate(() => void this.flushReadbacks());
    });
  }

  private async flushReadbacks(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    let chunks: Chunk[];
    try {
      chunks = await this.needSide().readback(batch.map((b) => b.e.device));
    } catch (err) {
      for (const b of batch) b.failed(err);
      return;
    }
    batch.forEach((b, i) => {
      this.readbacks++;
      this.readbackBytes += chunks[i]!.data.byteLength;
      b.done(this.arrived(b.key, b.e, chunks[i]!));
    });
  }

  /** A chunk is back in host memory: it moves to the host store with its holders (unless freed meanwhile). */
  private arrived(key: string, e: Away, chunk: Chunk): Chunk {
    // Dropped while it was read (a free): the reader still gets its copy, nobody keeps it.
    if (this.away.get(key) !== e) return chunk;
    this.forget(key, e);
    // The holders move with it; a pinned chunk with none keeps its pin alone.
    const [first = '(pinned)', ...rest] = e.holders;
    this.host.put(key, chunk, first);
    for (const h of rest) this.host.hold(key, h);
    if (e.pinned) this.host.pin(key);
    if (e.holders.size === 0) this.host.release(key, first);
    if (e.device) this.side()?.adopt(chunk, e.device);
    else this.spill?.files.remove(e.path);
    this.spillIfOver();
    return chunk;
  }

  private drop(key: string, e: Away): void {
    this.forget(key, e);
    if (e.device) this.side()?.release(e.device);
    else this.spill?.files.remove(e.path);
  }

  private forget(key: string, e: Away): void {
    this.away.delete(key);
    if (e.device) {
      this.deviceBytes -= e.nbytes;
      this.deviceCount--;
    } else {
      this.diskBytes -= e.nbytes;
      this.diskCount--;
    }
  }

  /** Over budget: the oldest device-only chunks go to the host (in the background). */
  private trimDevice(): void {
    const over = this.deviceBytes - this.budget();
    if (over > 0) void this.evict(over).catch(() => undefined);
  }

  /**
   * Host memory over its target: the oldest chunks nobody is using (only the resident holder
   * holds them) are written to disk, in the background, until the rest fit under `low`. A chunk
   * someone took up meanwhile stays in memory; its file goes.
   */
  private spillIfOver(): void {
    const s = this.spill;
    if (!s || this.host.nbytes <= s.high || Date.now() < this.spillRetryAt) return;
    // Writes already under way count as done: a put meanwhile must not pick more than needed.
    let need = this.host.nbytes - this.spillingBytes - s.low;
    for (const key of this.host.keys()) {
      if (need <= 0) break;
      const chunk = this.host.get(key)!;
      if (this.spilling.has(key) || !this.idle(key)) continue;
      const n = chunk.data.byteLength;
      this.spilling.add(key);
      this.spillingBytes += n;
      need -= n;
      s.files
        .write(chunk)
        .then((path) => this.spilled(key, chunk, path))
        .catch((e: unknown) => this.spillFailed(e))
        .finally(() => {
          this.spilling.delete(key);
          this.spillingBytes -= n;
        });
    }
  }

  /** The chunk stays in host memory; the first failure of a burst is reported, and spilling waits. */
  private spillFailed(e: unknown): void {
    this.spillFailures++;
    const now = Date.now();
    if (now < this.spillRetryAt) return;
    this.spillRetryAt = now + SPILL_RETRY_MS;
    this.spill?.onFailure?.(e instanceof Error ? e : new Error(String(e)));
  }

  private spilled(key: string, chunk: Chunk, path: string): void {
    if (this.host.get(key) !== chunk || !this.idle(key)) {
      this.spill!.files.remove(path);
      return;
    }
    const { holders, pinned } = this.host.take(key)!;
    const { dtype, shape } = chunk;
    const nbytes = chunk.data.byteLength;
    this.away.set(key, { dtype, shape, nbytes, path, holders: new Set(holders), pinned });
    this.diskBytes += nbytes;
    this.diskCount++;
    this.spills++;
    this.spillBytes += nbytes;
  }

  private idle(key: string): boolean {
    const h = this.host.holding(key);
    return h !== undefined && [...h.holders].every((x) => x === this.spill!.resident);
  }

  private needSide(): DeviceSide {
    const s = this.side();
    if (!s) throw new Error('a chunk is on a GPU this worker no longer has');
    return s;
  }
}
