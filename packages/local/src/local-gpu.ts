import type { Chunk, GpuInfo, TaskSpec } from '@tessera/protocol';
import { ChunkStore, GpuRunner, type DeviceChunk } from '@tessera/worker';
import { DeviceStore } from './device-store.js';

export interface GpuExecutorOptions {
  /**
   * true: open the device at start (no adapter: a warning, and CPU only); 'auto' (default): open
   * it when a graph first has GPU-marked tasks (a software adapter then serves only 'gpu' tasks,
   * not 'auto' ones); false: never (graphs that need a GPU fail with NoGpuError).
   */
  gpu?: boolean | 'auto';
  /** Bytes of device memory for chunks (default: the device's guess, see openGpu). */
  gpuMemoryLimit?: number;
  /** float16 storage with float32 accumulation. */
  gpuF16?: boolean;
}

export interface GpuExecutorStats {
  info: GpuInfo;
  tasks: number;
  uploads: number;
  readbacks: number;
  readbackBytes: number;
  deviceChunks: number;
  deviceBytes: number;
}

/**
 * The local executor's GPU: the device (opened at start or when first needed), the chunks made
 * on it, the device copies of host chunks that GPU tasks read, and the moves between the two
 * (readback for CPU tasks and the client, eviction when device memory is short). The executor
 * schedules GPU tasks; this holds what they read and write.
 */
export class LocalGpu {
  /** Chunks made on the GPU, left there until a CPU task or the client reads them. */
  readonly device = new DeviceStore((c) => this.runner?.release(c));
  /** Device copies of host chunks that GPU tasks read (valid while the host chunk is the same). */
  private readonly uploads = new Map<string, { host: Chunk; chunk: DeviceChunk }>();
  runner: GpuRunner | undefined;
  private opening: Promise<void> | undefined;
  private error: string | undefined;
  mode: boolean | 'auto' = 'auto';
  private options: GpuExecutorOptions = {};
  private warned = false;
  /** Keys read by running GPU tasks (never evicted). */
  private readonly busy = new Map<string, number>();
  private readonly readingBack = new Map<string, Promise<void>>();
  /** Tasks whose GPU run failed: they run on the CPU from then on. */
  private readonly cpuOnly = new Set<string>();
  executed = 0;

  constructor(private readonly chunks: ChunkStore) {}

  configure(options: GpuExecutorOptions): void {
    this.mode = options.gpu ?? 'auto';
    this.options = options;
  }

  /** Open the device if it is not open yet; says why not when there is none. */
  async ensure(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.mode === false) return { ok: false, reason: 'the engine was started with gpu: false' };
    if (this.runner?.usable) return { ok: true };
    if (!this.opening && this.error === undefined) {
      this.opening = (async () => {
        try {
          const { gpuMemoryLimit, gpuF16 } = this.options;
          this.runner = await GpuRunner.open({
            ...(gpuMemoryLimit !== undefined ? { memoryLimit: gpuMemoryLimit } : {}),
            f16: gpuF16 === true,
          });
          this.runner.onPressure = (bytes) => this.evict(bytes);
        } catch (e) {
          this.error = (e as Error).message;
        }
      })();
    }
    await this.opening;
    if (this.runner?.usable) return { ok: true };
    return { ok: false, reason: this.error ?? 'the GPU was lost' };
  }

  stats(): GpuExecutorStats | undefined {
    const g = this.runner;
    if (!g) return undefined;
    const s = g.stats();
    return {
      info: g.info,
      tasks: this.executed,
      uploads: s.uploads,
      readbacks: s.readbacks,
      readbackBytes: s.readbackBytes,
      deviceChunks: this.device.count,
      deviceBytes: this.device.nbytes,
    };
  }

  /** Drop the device copy of a host chunk that is no longer the one it was copied from. */
  dropStaleUpload(key: string): void {
    const u = this.uploads.get(key);
    if (u && this.chunks.get(key) !== u.host) {
      this.uploads.delete(key);
      this.runner?.release(u.chunk);
    }
  }

  /** A task marked for the GPU, with a device open that has a kernel for it and its inputs. */
  use(spec: TaskSpec): boolean {
    const g = this.runner;
    if (!spec.device || !g?.usable || this.cpuOnly.has(spec.key)) return false;
    if (spec.device === 'auto' && g.info.fallback && this.mode !== true) return false;
    const metas = spec.deps.map((d) => this.chunks.get(d) ?? this.device.get(d)!);
    return g.unsupported(spec, metas) === undefined;
  }

  /** The device chunk of an input: made on the device, or uploaded from the host (and kept). */
  input(key: string): DeviceChunk {
    const d = this.device.get(key);
    if (d) return d;
    const host = this.chunks.get(key)!;
    const u = this.uploads.get(key);
    if (u && u.host === host) return u.chunk;
    if (u) this.runner!.release(u.chunk);
    const chunk = this.runner!.upload(host);
    this.uploads.set(key, { host, chunk });
    return chunk;
  }

  /** A GPU task starts reading these keys. */
  markBusy(keys: readonly string[]): void {
    for (const d of keys) this.busy.set(d, (this.busy.get(d) ?? 0) + 1);
  }

  /** A GPU task has finished reading these keys. */
  unmarkBusy(keys: readonly string[]): void {
    for (const d of keys) {
      const n = (this.busy.get(d) ?? 1) - 1;
      if (n > 0) this.busy.set(d, n);
      else this.busy.delete(d);
    }
  }

  /** A task's GPU run failed: warn (once), and run it on the CPU from then on. */
  fallBack(key: string, error: unknown): void {
    if (!this.warned) {
      this.warned = true;
      process.emitWarning(
        `tessera: GPU task ${key} failed (${(error as Error)?.message ?? String(error)}); it and any other that fails run on the CPU`,
        { code: 'TESSERA_GPU_FALLBACK' },
      );
    }
    this.cpuOnly.add(key);
  }

  isReadingBack(key: string): boolean {
    return this.readingBack.has(key);
  }

  /** Copy device chunks to the host (one batch), where every graph holding them holds the copy. */
  readBack(keys: readonly string[]): Promise<void> {
    const todo = keys.filter((k) => !this.readingBack.has(k) && !this.chunks.has(k) && this.device.has(k));
    if (todo.length) {
      const chunks = todo.map((k) => this.device.get(k)!);
      const p = this.runner!.readback(chunks).then((hosts) => {
        hosts.forEach((c, i) => this.hostCopy(todo[i]!, c));
      });
      const settled = p.finally(() => {
        for (const k of todo) this.readingBack.delete(k);
      });
      for (const k of todo) this.readingBack.set(k, settled);
    }
    return Promise.all(keys.map((k) => this.readingBack.get(k))).then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening;
    for (const u of this.uploads.values()) this.runner?.release(u.chunk);
    this.uploads.clear();
    this.device.clear();
    this.runner?.close();
    this.runner = undefined;
  }

  private hostCopy(key: string, c: Chunk): void {
    const h = this.device.holders(key);
    if (!h || this.chunks.has(key)) return;
    if (h.holders.length === 0 && !h.pinned) return;
    for (const g of h.holders) this.chunks.put(key, c, g);
    if (h.pinned) {
      this.chunks.put(key, c, '#pin');
      this.chunks.pin(key);
      this.chunks.release(key, '#pin');
    }
  }

  /**
   * Device memory is short by `bytes`: drop upload copies and device chunks the host also holds,
   * then read back the least recently used chunks only the device holds and drop them.
   */
  private async evict(bytes: number): Promise<void> {
    const busy = new Set(this.busy.keys());
    let freed = 0;
    for (const [k, u] of this.uploads) {
      if (freed >= bytes) return;
      if (busy.has(k)) continue;
      this.uploads.delete(k);
      this.runner?.release(u.chunk);
      freed += u.chunk.nbytes;
    }
    const lru = this.device.lru(busy);
    for (const k of lru) {
      if (freed >= bytes) return;
      if (!this.chunks.has(k)) continue;
      freed += this.device.get(k)!.nbytes;
      this.device.drop(k);
    }
    const victims: string[] = [];
    for (const k of lru) {
      if (freed >= bytes) break;
      if (!this.device.has(k) || this.readingBack.has(k)) continue;
      victims.push(k);
      freed += this.device.get(k)!.nbytes;
    }
    if (victims.length === 0) return;
    await this.readBack(victims);
    for (const k of victims) if (this.chunks.has(k) && !this.busy.has(k)) this.device.drop(k);
  }
}
