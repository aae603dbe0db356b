import { paramsOf } from './ops/catalogue.js';
import { z } from 'zod';
import { type Dtype, itemsize, promoteTypes } from './dtype.js';
import type { Graph, TaskSpec } from './graph.js';
import type { ArrayMeta } from './ops/catalogue.js';
import type { Instruction } from './ops/elementwise.js';
import { sizeOf, stridesOf } from './shape.js';

/**
 * Where work runs. A compute call asks for `device: 'gpu' | 'cpu' | 'auto'`:
 *  - 'cpu'  : every task on the CPU (the default unless the client was connected with a GPU).
 *  - 'gpu'  : every task a GPU kernel exists for (float32, int32, uint8 where meaningful) is
 *             marked `device: 'gpu'` and must run on a GPU: a graph holding one fails at submission
 *             with NoGpuError when the engine (or the cluster) has no GPU. float64 work and ops
 *             without a GPU kernel stay on the CPU.
 *  - 'auto' : a cost model (planDevices below) marks the tasks worth moving, `device: 'auto'`:
 *             they run on a GPU where the engine or a worker has one, on the CPU otherwise.
 * Keys do not depend on the device: a chunk computed on a GPU and one computed on the CPU are
 * equal within the per-op tolerances of the GPU kernels, so graphs share them either way.
 */
export const DEVICES = ['gpu', 'cpu', 'auto'] as const;
export const DeviceRequest = z.enum(DEVICES);
export type DeviceRequest = z.infer<typeof DeviceRequest>;

/** The mark a task carries (TaskSpec.device): absent means CPU. */
export const TASK_DEVICES = ['gpu', 'auto'] as const;
export const TaskDevice = z.enum(TASK_DEVICES);
export type TaskDevice = z.infer<typeof TaskDevice>;

/** What a process that opened a WebGPU device reports about it (worker registration, engine stats). */
export const GpuInfo = z
  .object({
    /** Adapter name: its description, or vendor and device. */
    name: z.string().min(1),
    vendor: z.string(),
    architecture: z.string(),
    /** A software adapter (lavapipe, SwiftShader): correct but slower than the CPU kernels. */
    fallback: z.boolean(),
    /** Optional WebGPU features the device was opened with (e.g. shader-f16). */
    features: z.array(z.string()),
    /** The limits the device was opened with (raised to what the adapter offers). */
    limits: z.record(z.string(), z.number()),
    /** float16 storage with float32 accumulation is on (mixed precision). */
    f16: z.boolean(),
    /** Bytes of device memory the process allows itself for chunks and pooled buffers. */
    memoryLimit: z.number().int().nonnegative(),
    /** The adapter's index on its machine, where one was picked (`--gpu-device`, TESSERA_GPU_DEVICE). */
    index: z.number().int().nonnegative().optional(),
  })
  .strict();
export type GpuInfo = z.infer<typeof GpuInfo>;

/** The dtypes GPU kernels store: float32, int32, and uint8 and bool (packed four to a 32-bit word). */
export function isGpuDtype(d: Dtype): boolean {
  return d === 'float32' || d === 'int32' || d === 'uint8' || d === 'bool';
}

const COMPARISONS = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

/** Why a program cannot run on the GPU, or undefined if it can. */
/** The elementwise ops the WGSL generator has (worker/src/gpu/wgsl/program.ts); the rest run on the CPU. */
const GPU_OPS = new Set<string>([
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'where',
  'neg', 'abs', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tanh', 'astype',
  'floor', 'ceil', 'trunc', 'rint', 'sign', 'square', 'reciprocal', 'log2', 'exp2', 'log10', 'degrees', 'radians',
  'isnan', 'isinf', 'isfinite', 'logical_not', 'logical_and', 'logical_or', 'logical_xor',
  'invert', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'copysign',
]);

function programSupport(program: readonly Instruction[], inputDtypes: readonly Dtype[]): string | undefined {
  const results: Dtype[] = [];
  for (const [i, ins] of program.entries()) {
    const argTypes: Dtype[] = [];
    for (const a of ins.args) {
      const t = 'input' in a ? inputDtypes[a.input] : 'const' in a ? a.dtype : results[a.ref];
      if (t === undefined) return `instruction ${i} reads an operand that does not exist`;
      argTypes.push(t);
    }
    if (!GPU_OPS.has(ins.op)) return `instruction ${i} (${ins.op}) has no GPU kernel`;
    if (!isGpuDtype(ins.dtype)) return `instruction ${i} (${ins.op}) gives ${ins.dtype}`;
    const nonGpu = argTypes.find((t) => !isGpuDtype(t));
    if (nonGpu) return `instruction ${i} (${ins.op}) reads ${nonGpu}`;
    // The type a comparison is evaluated in: float32 vs int32 compares as float64 on the CPU.
    if (COMPARISONS.has(ins.op) && promoteTypes(argTypes[0]!, argTypes[1]!) === 'float64')
      return `instruction ${i} (${ins.op}) compares in float64`;
    // numpy's integer reciprocal (1/0 is the most negative int) stays on the CPU.
    if (ins.op === 'reciprocal' && ins.dtype !== 'float32') return `instruction ${i} (reciprocal) of ${ins.dtype}`;
    if (ins.op === 'where' && promoteTypes(argTypes[1]!, argTypes[2]!) === 'float64') return `instruction ${i} (where) selects in float64`;
    results.push(ins.dtype);
  }
  return undefined;
}

/** Two strides (rows, columns) for the matrix a tensordot operand is, if its axes collapse to two. */
export function matrixStrides(shape: readonly number[], rows: readonly number[], cols: readonly number[]): [number, number] | undefined {
  const st = stridesOf(shape);
  const group = (ax: readonly number[]): number | undefined => {
    let stride: number | undefined;
    let prevEnd: number | undefined; // stride the next (outer) axis must have to merge
    // Walk the group's axes from the innermost (last listed) outwards, skipping size-1 axes.
    for (let k = ax.length - 1; k >= 0; k--) {
      const d = shape[ax[k]!]!;
      if (d === 1) continue;
      const s = st[ax[k]!]!;
      if (stride === undefined) stride = s;
      else if (s !== prevEnd) return undefined;
      prevEnd = s * d;
    }
    return stride ?? 1;
  };
  const r = group(rows);
  const c = group(cols);
  return r === undefined || c === undefined ? undefined : [r, c];
}

/**
 * Why a task has no GPU kernel, or undefined when it has one. `deps` are the task's inputs
 * (shape and dtype). The engine checks again with the chunks in hand, and against the device's
 * limits (a chunk larger than the largest storage binding runs on the CPU).
 */
export function gpuUnsupported(t: Pick<TaskSpec, 'op' | 'params' | 'shape' | 'dtype'>, deps: readonly ArrayMeta[]): string | undefined {
  if (sizeOf(t.shape) === 0) return 'empty chunk';
  if (deps.some((d) => sizeOf(d.shape) === 0)) return 'empty input';
  switch (t.op) {
    case 'elementwise': {
      const p = paramsOf(t, 'elementwise');
      const types: Dtype[] = [];
      let next = 0;
      for (const v of p.inputs) {
        if (v.source) {
          const s = v.source;
          if (!isGpuDtype(s.dtype)) return `${s.op} source is ${s.dtype}`;
          if (s.op === 'random' && s.dtype !== 'float32') return 'random source is not float32';
          if (s.op === 'random' && stridesOf(paramsOf(s, 'random').fullShape).some((x) => x >= 2 ** 32)) return 'random source too large';
          if (s.op === 'arange' && s.dtype !== 'float32') {
            const a = paramsOf(s, 'arange');
            if (!Number.isInteger(a.start) || !Number.isInteger(a.step)) return 'integer arange with a fractional start or step';
          }
          types.push(s.dtype);
        } else {
          const d = deps[next++];
          if (!d) return 'missing input';
          types.push(d.dtype);
        }
      }
      const nonGpu = types.find((d) => !isGpuDtype(d));
      if (nonGpu) return `${nonGpu} input`;
      const bad = programSupport(p.program, types);
      if (bad) return bad;
      if (p.reduce) {
        const last = p.program[p.program.length - 1]!;
        if (last.dtype !== 'float32') return `reduction of ${last.dtype} values (GPU reductions are float32)`;
        return reduceAxesSupport(p.reduce.kind, p.reduce.axes, p.domain.length);
      }
      return isGpuDtype(t.dtype) ? undefined : `output is ${t.dtype}`;
    }
    case 'reduce-partial': {
      const d = deps[0];
      if (!d || d.dtype !== 'float32') return 'reduction of a non-float32 chunk';
      const p = paramsOf(t, 'reduce-partial');
      return reduceAxesSupport(p.kind, p.axes, d.shape.length);
    }
    case 'transpose':
      return t.dtype === 'float32' || t.dtype === 'int32' ? undefined : `transpose of ${t.dtype}`;
    case 'tensordot': {
      if (t.dtype !== 'float32' && t.dtype !== 'int32') return `tensordot of ${t.dtype}`;
      if (deps.some((d) => d.dtype !== t.dtype)) return 'tensordot inputs differ in dtype from its output';
      const p = paramsOf(t, 'tensordot');
      for (let k = 0; k < p.pairs; k++) {
        const a = deps[k];
        const b = deps[p.pairs + k];
        if (!a || !b) return 'missing input';
        const freeA = a.shape.map((_, i) => i).filter((i) => !p.axesA.includes(i));
        const freeB = b.shape.map((_, i) => i).filter((i) => !p.axesB.includes(i));
        if (!matrixStrides(a.shape, freeA, p.axesA) || !matrixStrides(b.shape, p.axesB, freeB))
          return 'tensordot operand is not a strided matrix';
      }
      return undefined;
    }
    case 'random':
      if (t.dtype !== 'float32') return `random ${t.dtype}`;
      return stridesOf(paramsOf(t, 'random').fullShape).some((x) => x >= 2 ** 32) ? 'random array too large' : undefined;
    case 'full':
      return isGpuDtype(t.dtype) ? undefined : `full ${t.dtype}`;
    case 'arange': {
      if (t.dtype === 'float32') return undefined;
      const a = paramsOf(t, 'arange');
      if (!isGpuDtype(t.dtype)) return `arange ${t.dtype}`;
      return Number.isInteger(a.start) && Number.isInteger(a.step) ? undefined : 'integer arange with a fractional start or step';
    }
    default:
      return `no GPU kernel for ${t.op}`;
  }
}

function reduceAxesSupport(kind: string, axes: readonly number[], rank: number): string | undefined {
  if (kind === 'isum' || kind === 'iprod') return `exact integer ${kind === 'isum' ? 'sum' : 'prod'} (int64 accumulation; WGSL has no 64-bit integers)`;
  if ((kind === 'argmin' || kind === 'argmax') && axes.length !== rank && axes.length !== 1) return `${kind} over several but not all axes`;
  return undefined;
}

/**
 * The cost model of `device: 'auto'`: seconds of a task on each side. Defaults are deliberately
 * rough (a CPU thread against a discrete GPU over PCIe); what matters is the shape: a GPU task
 * pays a launch and moving its inputs that are not already on the device, and its output back
 * when a CPU task or the client reads it, so small chunks and chains that would bounce between
 * host and device stay on the CPU.
 */
export interface CostModel {
  /** Flop/s of one CPU thread running the block interpreter (float64 registers). */
  cpuFlops: number;
  /** Bytes/s one CPU thread streams. */
  cpuBytesPerS: number;
  gpuFlops: number;
  gpuBytesPerS: number;
  /** Host <-> device bytes/s (PCIe). */
  linkBytesPerS: number;
  /** Seconds to launch one GPU task (encode, submit, completion). */
  launchS: number;
  /** Output elements below which a task stays on the CPU whatever the estimates say. */
  minElements: number;
}

export const DEFAULT_COST_MODEL: CostModel = {
  cpuFlops: 2e9,
  cpuBytesPerS: 4e9,
  gpuFlops: 8e12,
  gpuBytesPerS: 4e11,
  linkBytesPerS: 1.2e10,
  launchS: 1e-4,
  minElements: 1 << 16,
};

/** Flops per element of each elementwise op (transcendentals are dozens of instructions). */
const OP_FLOPS: Record<string, number> = { sqrt: 4, exp: 16, log: 16, sin: 20, cos: 20, tanh: 20, pow: 40, div: 4 };

/** Work of one task: flops and bytes it reads and writes. */
export function taskWork(
  t: Pick<TaskSpec, 'op' | 'params' | 'shape' | 'dtype' | 'nbytes'>,
  deps: readonly ArrayMeta[],
): { flops: number; bytes: number } {
  const inBytes = deps.reduce((s, d) => s + sizeOf(d.shape) * itemsize(d.dtype), 0);
  const n = sizeOf(t.shape);
  switch (t.op) {
    case 'elementwise': {
      const p = paramsOf(t, 'elementwise');
      const m = sizeOf(p.domain);
      let per = 0;
      for (const ins of p.program) per += OP_FLOPS[ins.op] ?? 1;
      for (const v of p.inputs) if (v.source?.op === 'random') per += 30;
      if (p.reduce) per += 1;
      return { flops: m * per, bytes: inBytes + t.nbytes };
    }
    case 'tensordot': {
      const p = paramsOf(t, 'tensordot');
      let flops = 0;
      for (let k = 0; k < p.pairs; k++) {
        const a = deps[k]!;
        const K = p.axesA.reduce((s, ax) => s * a.shape[ax]!, 1);
        flops += 2 * n * K;
      }
      return { flops, bytes: inBytes + t.nbytes };
    }
    case 'random':
      return { flops: 30 * n, bytes: t.nbytes };
    default:
      return { flops: n, bytes: inBytes + t.nbytes };
  }
}

/**
 * Mark a graph's tasks for a device request. 'cpu' leaves the graph as it is; 'gpu' marks every
 * task that has a GPU kernel 'gpu'; 'auto' marks 'auto' the tasks the cost model sends to the
 * GPU, walking the graph in dependency order so a task knows where its inputs will be.
 */
export function planDevices(graph: Graph, request: DeviceRequest, model: CostModel = DEFAULT_COST_MODEL): Graph {
  if (request === 'cpu') return graph;
  const byKey = new Map(graph.tasks.map((t) => [t.key, t]));
  const readers = new Map<string, TaskSpec[]>();
  for (const t of graph.tasks) for (const d of t.deps) readers.set(d, [...(readers.get(d) ?? []), t]);
  const outputs = new Set(graph.outputs);
  const onGpu = new Set<string>();
  const eligible = new Map<string, boolean>();
  const isEligible = (t: TaskSpec): boolean => {
    let e = eligible.get(t.key);
    if (e === undefined)
      eligible.set(
        t.key,
        (e =
          gpuUnsupported(
            t,
            t.deps.map((d) => byKey.get(d)!),
          ) === undefined),
      );
    return e;
  };
  const marked = new Map<string, TaskSpec>();
  for (const t of dependencyOrder(graph.tasks, byKey)) {
    if (t.op === 'reshape') {
      // A view: it is where its input is.
      if (onGpu.has(t.deps[0]!)) onGpu.add(t.key);
      continue;
    }
    if (!isEligible(t)) continue;
    if (request === 'auto') {
      const deps = t.deps.map((d) => byKey.get(d)!);
      const { flops, bytes } = taskWork(t, deps);
      const cpu = flops / model.cpuFlops + bytes / model.cpuBytesPerS;
      let moved = 0;
      for (const d of deps) if (!onGpu.has(d.key)) moved += d.nbytes;
      const rs = readers.get(t.key) ?? [];
      const partial = t.op === 'elementwise' && paramsOf(t, 'elementwise').reduce !== undefined;
      if (partial || outputs.has(t.key) || rs.some((r) => !isEligible(r) && r.op !== 'reshape')) moved += t.nbytes;
      const gpu = model.launchS + flops / model.gpuFlops + bytes / model.gpuBytesPerS + moved / model.linkBytesPerS;
      const elements = t.op === 'elementwise' ? sizeOf(paramsOf(t, 'elementwise').domain) : sizeOf(t.shape);
      if (elements < model.minElements || gpu >= cpu) continue;
    }
    onGpu.add(t.key);
    marked.set(t.key, { ...t, device: request === 'gpu' ? 'gpu' : 'auto' });
  }
  if (marked.size === 0) return graph;
  return { tasks: graph.tasks.map((t) => marked.get(t.key) ?? t), outputs: graph.outputs };
}

/** Tasks with every dependency before its readers (iterative DFS; graphs are validated acyclic). */
function dependencyOrder(tasks: readonly TaskSpec[], byKey: ReadonlyMap<string, TaskSpec>): TaskSpec[] {
  const out: TaskSpec[] = [];
  const seen = new Set<string>();
  for (const root of tasks) {
    if (seen.has(root.key)) continue;
    const stack: { t: TaskSpec; next: number }[] = [{ t: root, next: 0 }];
    seen.add(root.key);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.t.deps.length) {
        out.push(top.t);
        stack.pop();
        continue;
      }
      const d = byKey.get(top.t.deps[top.next++]!);
      if (d && !seen.has(d.key)) {
        seen.add(d.key);
        stack.push({ t: d, next: 0 });
      }
    }
  }
  return out;
}

/** The tasks of a graph that must run on a GPU ('gpu'), and those that may ('auto'). */
export function deviceDemand(graph: Graph): { gpu: number; auto: number } {
  let gpu = 0;
  let auto = 0;
  for (const t of graph.tasks) {
    if (t.device === 'gpu') gpu++;
    else if (t.device === 'auto') auto++;
  }
  return { gpu, auto };
}
