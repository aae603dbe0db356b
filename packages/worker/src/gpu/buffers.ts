/// <reference types="@webgpu/types" />
import type { Dtype } from '@tessera/protocol';
import type { Storage } from './wgsl/common.js';

// WebGPU usage and map-mode bits (fixed by the specification).
export const USAGE_MAP_READ = 0x1;
export const USAGE_COPY_SRC = 0x4;
export const USAGE_COPY_DST = 0x8;
export const USAGE_STORAGE = 0x80;
export const MAP_READ = 0x1;

const CHUNK_USAGE = USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST;

/** A device buffer shared by the chunks that view it (a reshape is a new shape over the same buffer). */
export class DeviceBuffer {
  refs = 1;
  constructor(
    readonly gpu: GPUBuffer,
    readonly size: number,
  ) {}
}

/**
 * A chunk held in device memory. `storage` is how its elements are laid out there (float32 may
 * be float16 in mixed precision, uint8 is packed four to a word); `nbytes` is its host size.
 */
export interface DeviceChunk {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly storage: Storage;
  readonly nbytes: number;
  readonly buffer: DeviceBuffer;
}

/**
 * Size classes: multiples of 256 bytes up to 64 KiB, then four classes per power of two (at most
 * 25% slack), so buffers of neighbouring sizes (edge chunks) are reused for each other.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/**
 * Storage buffers of the device, pooled by size class and reused; every byte the process holds
 * on the device (live chunks and idle pooled buffers) is counted against `limit`. Idle buffers
 * are destroyed first when memory is short; `live` is what chunks and running tasks hold.
 */
export class GpuBufferPool {
  private readonly idle = new Map<number, GPUBuffer[]>();
  private idleOrder: GPUBuffer[] = [];
  private idleBytes = 0;
  private liveBytes = 0;
  created = 0;
  reused = 0;

  constructor(
    private readonly device: GPUDevice,
    readonly limit: number,
    private readonly maxBinding: number,
  ) {}

  get live(): number {
    return this.liveBytes;
  }

  get pooled(): number {
    return this.idleBytes;
  }

  /** The size a request of `bytes` gets (a size class, but never past the largest binding). */
  classOf(bytes: number): number {
    const c = sizeClass(bytes);
    if (c <= this.maxBinding || bytes > this.maxBinding) return c;
    return Math.ceil(Math.max(16, bytes) / 16) * 16;
  }

  /** Bytes that must be freed (by evicting chunks) before `bytes` more can be held. */
  shortfall(bytes: number): number {
    const want = this.classOf(bytes);
    if (this.idle.get(want)?.length) return 0;
    return Math.max(0, this.liveBytes + want - this.limit);
  }

  acquire(bytes: number, mapped = false): DeviceBuffer {
    const size = this.classOf(bytes);
    const list = this.idle.get(size);
    if (!mapped && list?.length) {
      const gpu = list.pop()!;
      this.idleOrder.splice(this.idleOrder.indexOf(gpu), 1);
      this.idleBytes -= size;
      this.liveBytes += size;
      this.reused++;
      return new DeviceBuffer(gpu, size);
    }
    this.trim(this.limit - size - this.liveBytes);
    const gpu = this.device.createBuffer({ size, usage: CHUNK_USAGE, mappedAtCreation: mapped });
    this.created++;
    this.liveBytes += size;
    return new DeviceBuffer(gpu, size);
  }

  /** One reference fewer; at zero the buffer goes idle (or is destroyed when the pool is full). */
  release(b: DeviceBuffer): void {
    if (--b.refs > 0) return;
    this.liveBytes -= b.size;
    if (this.liveBytes + this.idleBytes + b.size > this.limit) this.trim(this.limit - this.liveBytes - b.size);
    if (this.liveBytes + this.idleBytes + b.size > this.limit) {
      b.gpu.destroy();
      return;
    }
    let list = this.idle.get(b.size);
    if (!list) this.idle.set(b.size, (list = []));
    list.push(b.gpu);
    this.idleOrder.push(b.gpu);
    this.idleBytes += b.size;
  }

  /** Destroy idle buffers, oldest first, until at most `keep` idle bytes remain. */
  trim(keep = 0): void {
    while (this.idleBytes > Math.max(0, keep) && this.idleOrder.length) {
      const gpu = this.idleOrder.shift()!;
      const size = gpu.size;
      const list = this.idle.get(size)!;
      list.splice(list.indexOf(gpu), 1);
      this.idleBytes -= size;
      gpu.destroy();
    }
  }

  destroy(): void {
    this.trim(0);
  }
}

/** Host-mappable buffers that readbacks copy into, pooled by size class (a few are enough). */
export class StagingPool {
  private readonly idle = new Map<number, GPUBuffer[]>();
  private bytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly keepBytes: number,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const b = this.idle.get(size)?.pop();
    if (b) {
      this.bytes -= size;
      return b;
    }
    return this.device.createBuffer({ size, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  }

  release(b: GPUBuffer): void {
    if (this.bytes + b.size > this.keepBytes) {
      b.destroy();
      return;
    }
    let list = this.idle.get(b.size);
    if (!list) this.idle.set(b.size, (list = []));
    list.push(b);
    this.bytes += b.size;
  }

  destroy(): void {
    for (const list of this.idle.values()) for (const b of list) b.destroy();
    this.idle.clear();
    this.bytes = 0;
  }
}
