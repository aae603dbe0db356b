/// <reference types="@webgpu/types" />
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoGpuError, type GpuInfo } from '@tessera/protocol';

/**
 * One WebGPU device per process, through the `webgpu` package (Dawn). The native addon is
 * imported only here, and only when a device is asked for (or probed for `auto`), so a process
 * that never asks never loads it.
 */

export interface GpuOpenOptions {
  /** float16 storage with float32 accumulation (needs the adapter's `shader-f16`). */
  f16?: boolean;
  /** Bytes of device memory for chunks and pooled buffers; default: see defaultMemoryLimit. */
  memoryLimit?: number;
  /** Take a software adapter (lavapipe, SwiftShader) too; default true. */
  allowFallback?: boolean;
  /** Extra Dawn toggles for `create()` (e.g. 'backend=vulkan'); default from TESSERA_GPU_FLAGS. */
  flags?: string[];
  /**
   * Which adapter, by its index in `listGpuAdapters` (as CUDA_VISIBLE_DEVICES picks a card);
   * default TESSERA_GPU_DEVICE, else the one WebGPU prefers. One that does not exist is a GpuUnavailable naming those that do.
   */
  deviceIndex?: number;
}

export interface GpuAdapterEntry {
  index: number;
  backend: string;
  name: string;
}

const envFlags = (): string[] => (process.env['TESSERA_GPU_FLAGS'] ? process.env['TESSERA_GPU_FLAGS'].split(',').filter(Boolean) : []);

/**
 * Every adapter Dawn can open, in its order. WebGPU has no enumeration; Dawn lists the adapters
 * in the error of a request for a name none has, and that list is parsed here.
 */
export async function listGpuAdapters(flags: string[] = envFlags()): Promise<GpuAdapterEntry[]> {
  const mod = await loadWebGpu();
  const instance = mod.create([...flags.filter((f) => !f.startsWith('adapter=')), 'adapter=tessera-lists-every-adapter-0f3c9a']);
  let message = '';
  try {
    const a = await instance.requestAdapter();
    if (a) probed.push({ instance, adapter: a });
  } catch (e) {
    message = String((e as Error).message ?? e);
  }
  probed.push({ instance, adapter: null });
  const out: GpuAdapterEntry[] = [];
  for (const m of message.matchAll(/\* backend: '([^']*)', name: '([^']*)'/g)) out.push({ index: out.length, backend: m[1]!, name: m[2]! });
  return out;
}

/** Dawn's flags that open adapter `index` of listGpuAdapters, or why that cannot be. */
async function adapterFlags(index: number, flags: string[]): Promise<string[]> {
  if (!Number.isInteger(index) || index < 0) throw new GpuUnavailable(`GPU device ${index}: give a non-negative integer index`);
  const all = await listGpuAdapters(flags);
  const list = all.map((a) => `${a.index}: ${a.name} (${a.backend})`).join('; ') || 'none';
  const want = all[index];
  if (!want) throw new GpuUnavailable(`GPU device ${index} does not exist: this machine has ${all.length} WebGPU adapter${all.length === 1 ? '' : 's'} (${list})`);
  // Dawn picks an adapter by its name: two of one name (identical cards) cannot be told apart.
  const twin = all.find((a) => a.index !== index && a.backend === want.backend && a.name.includes(want.name));
  if (twin) {
    throw new GpuUnavailable(
      `GPU device ${index} (${want.name}) and ${twin.index} share a name, and Dawn selects adapters by name: hide the others from the driver instead (MESA_VK_DEVICE_SELECT for Mesa, or the driver's visible-devices setting)`,
    );
  }
  return [...flags.filter((f) => !f.startsWith('adapter=') && !f.startsWith('backend=')), `adapter=${want.name}`, `backend=${want.backend}`];
}

function envDeviceIndex(): number | undefined {
  const v = process.env['TESSERA_GPU_DEVICE'];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new GpuUnavailable(`TESSERA_GPU_DEVICE must be an adapter index (0, 1, ...), got ${JSON.stringify(v)}`);
  return Number(v);
}

/** An open device and what it was opened with. */
export interface GpuDevice {
  readonly device: GPUDevice;
  /**
   * The Dawn instance and adapter the device came from. Held for the device's lifetime: dawn.node
   * destroys the instance when its JS object is garbage collected, and a device that outlives its
   * instance crashes the process at the next collection.
   */
  readonly instance: GPU;
  readonly adapter: GPUAdapter;
  readonly info: GpuInfo;
  /** Resolves when the device is lost (destroyed by close, or by the driver). */
  readonly lost: Promise<string>;
  readonly isLost: () => boolean;
  close(): void;
}

/** Why no device could be opened: the message a user sees (code GPU_UNAVAILABLE, as NoGpuError). */
export class GpuUnavailable extends NoGpuError {}

interface WebGpuModule {
  create(flags: string[]): GPU;
}

let loaded: Promise<WebGpuModule> | undefined;

/** Dawn's Vulkan backend wants XDG_RUNTIME_DIR; give it a private one when the session has none. */
function ensureRuntimeDir(): void {
  if (process.env['XDG_RUNTIME_DIR']) return;
  const dir = join(tmpdir(), `tessera-xdg-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  } catch {
    // Dawn still works without it on most drivers.
  }
}

async function loadWebGpu(): Promise<WebGpuModule> {
  ensureRuntimeDir();
  // Through a variable, so bundlers and type checks never pin the native addon.
  const spec = 'webgpu';
  loaded ??= (import(spec) as Promise<WebGpuModule>).catch((e: unknown) => {
    loaded = undefined;
    throw new GpuUnavailable(
      `the webgpu package could not be loaded (${(e as Error).message}); install it (npm install webgpu) to use a GPU`,
    );
  });
  return loaded;
}

/** Limits raised to what the adapter offers (the defaults are far below what GPUs have). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Chunk memory the device may hold by default: a quarter of the largest buffer it can make
 * times 4, bounded to [256 MiB, 8 GiB]; 1 GiB on a software adapter (its memory is the host's).
 * WebGPU does not say how much memory a card has, so this is a guess; pass memoryLimit to set it.
 */
function defaultMemoryLimit(limits: GPUSupportedLimits, fallback: boolean): number {
  if (fallback) return 2 ** 30;
  const guess = Math.min(limits.maxBufferSize, 2 ** 32) * 2;
  return Math.max(2 ** 28, Math.min(2 ** 33, guess));
}

/** Open the process's device; throws GpuUnavailable with a clear message when there is none. */
export async function openGpu(options: GpuOpenOptions = {}): Promise<GpuDevice> {
  const mod = await loadWebGpu();
  const index = options.deviceIndex ?? envDeviceIndex();
  const base = options.flags ?? envFlags();
  const flags = index === undefined ? base : await adapterFlags(index, base);
  let gpu: GPU;
  try {
    gpu = mod.create(flags);
  } catch (e) {
    throw new GpuUnavailable(`WebGPU could not start: ${(e as Error).message}`);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) {
    throw new GpuUnavailable(
      'no WebGPU adapter found (no GPU driver, or no Vulkan/Metal/D3D12 loader; on Linux without a GPU, Mesa lavapipe provides one)',
    );
  }
  const ainfo = adapter.info;
  const fallback = (ainfo as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  if (fallback && options.allowFallback === false)
    throw new GpuUnavailable(`only a software WebGPU adapter was found (${ainfo.description || ainfo.device})`);
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const wantF16 = options.f16 === true;
  if (wantF16 && !adapter.features.has('shader-f16'))
    throw new GpuUnavailable(`the adapter (${ainfo.description || ainfo.device}) has no shader-f16: float16 storage is not possible`);
  const requiredFeatures: GPUFeatureName[] = wantF16 ? ['shader-f16'] : [];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new GpuUnavailable(`the WebGPU adapter refused a device: ${(e as Error).message}`);
  }
  const limits: Record<string, number> = {};
  for (const k of [...RAISED_LIMITS, 'maxUniformBufferBindingSize', 'minStorageBufferOffsetAlignment'] as const) {
    const v = (device.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const name = ainfo.description || [ainfo.vendor, ainfo.device].filter(Boolean).join(' ') || 'WebGPU adapter';
  const info: GpuInfo = {
    name,
    vendor: ainfo.vendor ?? '',
    architecture: ainfo.architecture ?? '',
    fallback,
    features: [...device.features].map(String).sort(),
    limits,
    f16: wantF16,
    memoryLimit: options.memoryLimit ?? defaultMemoryLimit(device.limits, fallback),
    ...(index !== undefined ? { index } : {}),
  };
  let lostReason: string | undefined;
  let closed = false;
  const lost = device.lost.then((l) => (lostReason = closed ? 'closed' : `device lost: ${l.message || l.reason}`));
  return {
    device,
    instance: gpu,
    adapter,
    info,
    lost,
    isLost: () => lostReason !== undefined || closed,
    close(): void {
      if (closed) return;
      closed = true;
      device.destroy();
    },
  };
}

const probed: { instance: GPU; adapter: GPUAdapter | null }[] = [];

/** Whether an adapter exists (and what it is), without keeping a device open. */
export async function probeGpu(options: Pick<GpuOpenOptions, 'flags'> = {}): Promise<{ name: string; fallback: boolean } | undefined> {
  try {
    const mod = await loadWebGpu();
    const instance = mod.create(options.flags ?? []);
    const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
    // Kept alive: an instance collected before its adapter crashes dawn.node (see GpuDevice.instance).
    probed.push({ instance, adapter });
    if (!adapter) return undefined;
    const i = adapter.info;
    return {
      name: i.description || i.device || 'WebGPU adapter',
      fallback: (i as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    };
  } catch {
    return undefined;
  }
}
