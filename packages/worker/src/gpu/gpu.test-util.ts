import { expect } from 'vitest';
import { allocChunk, sizeOf, type Chunk, type Dtype, type ElementwiseParams, type Instruction } from '@tessera/protocol';
import { executeTask } from '../kernels/index.js';
import { GpuUnavailable } from './device.js';
import { GpuRunner, type GpuTask } from './runner.js';

/**
 * The GPU tests run on whatever adapter Dawn finds: Mesa's lavapipe in CI (.ci/run installs it),
 * a real GPU elsewhere. No adapter is a failure that says how to get one, not a skipped test.
 */
export async function openTestRunner(opts: { f16?: boolean } = {}): Promise<GpuRunner> {
  try {
    return await GpuRunner.open({ f16: opts.f16 === true });
  } catch (e) {
    if (e instanceof GpuUnavailable) {
      throw new Error(
        `GPU tests need a WebGPU adapter: ${e.message}. On Debian: apt-get install -t bookworm-backports mesa-vulkan-drivers (lavapipe)`,
      );
    }
    throw e;
  }
}

/** Deterministic values: a small LCG, so failures reproduce. */
export function values(n: number, seed: number, f: (u: number, i: number) => number): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = f(s / 2 ** 32, i);
  }
  return out;
}

export function chunkOf(dtype: Dtype, shape: readonly number[], data: readonly number[]): Chunk {
  const c = allocChunk(dtype, shape);
  if (data.length !== sizeOf(shape)) throw new Error(`chunkOf: ${data.length} values for shape [${shape.join(', ')}]`);
  for (let i = 0; i < data.length; i++) c.data[i] = data[i]!;
  return c;
}

export function randomChunk(dtype: Dtype, shape: readonly number[], seed: number, lo = -4, hi = 4): Chunk {
  const n = sizeOf(shape);
  const f = dtype === 'float32' || dtype === 'float64' ? (u: number) => lo + (hi - lo) * u : (u: number) => Math.floor(lo + (hi - lo) * u);
  return chunkOf(dtype, shape, values(n, seed, f));
}

export interface Tolerance {
  /** Absolute error allowed. */
  abs?: number;
  /** Relative error allowed (of the CPU value). */
  rel?: number;
}

/** Every element within abs + rel * |cpu| (NaN only where the CPU has NaN); dtype and shape equal. */
export function expectClose(gpu: Chunk, cpu: Chunk, tol: Tolerance = {}, label = ''): void {
  expect([gpu.dtype, gpu.shape], label).toEqual([cpu.dtype, cpu.shape]);
  const abs = tol.abs ?? 0;
  const rel = tol.rel ?? 0;
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < cpu.data.length; i++) {
    const c = Number(cpu.data[i]!);
    const g = Number(gpu.data[i]!);
    if (Number.isNaN(c) || Number.isNaN(g)) {
      if (Number.isNaN(c) !== Number.isNaN(g)) {
        worst = i;
        worstErr = Infinity;
        break;
      }
      continue;
    }
    if (c === g) continue;
    const err = Math.abs(g - c) - (abs + rel * Math.abs(c));
    if (err > worstErr || (worst < 0 && err > 0)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}: element ${worst} GPU ${gpu.data[worst]} vs CPU ${cpu.data[worst]} (allowed ${abs} + ${rel} * |cpu|)`);
  }
}

/** Run a task on the CPU kernels and on the GPU (inputs uploaded), returning both results on the host. */
export async function both(runner: GpuRunner, task: GpuTask & { nbytes?: number }, inputs: Chunk[]): Promise<{ cpu: Chunk; gpu: Chunk }> {
  const cpu = executeTask({ ...task, shape: [...task.shape] }, inputs);
  const why = runner.unsupported(task, inputs);
  if (why) throw new Error(`task ${task.key} (${task.op}) is not GPU-eligible: ${why}`);
  const dev = inputs.map((c) => runner.upload(c));
  try {
    const out = await runner.run(task, dev);
    if (out.host) return { cpu, gpu: out.host };
    const [gpu] = await runner.readback([out.device]);
    runner.release(out.device);
    return { cpu, gpu: gpu! };
  } finally {
    for (const d of dev) runner.release(d);
  }
}

let seq = 0;
/** A unique task key per call (keys only name tasks in messages here). */
export function key(op: string): string {
  return `${op}-${(seq++).toString(16).padStart(16, '0')}:0`;
}

/** One float32 ulp at 1. */
export const ULP = 2 ** -23;

/** An elementwise task over `domain` (a fused program), for `both`. */
export function ew(
  program: Instruction[],
  inputs: ElementwiseParams['inputs'],
  domain: number[],
  dtype: Dtype,
  extra: Partial<ElementwiseParams> = {},
) {
  return {
    key: key('ew'),
    op: 'elementwise',
    params: { program, inputs, domain, ...extra } as Record<string, unknown>,
    shape: domain,
    dtype,
  };
}
