import { z } from 'zod';
import { pack, unpack } from 'msgpackr';
import { TaskDevice } from './device.js';
import { Dtype, itemsize } from './dtype.js';
import { GraphValidationError, type GraphIssue } from './errors.js';
import { KEY_PATTERN } from './keys.js';
import { OPS, complexRefusal, isOpName, type ArrayMeta } from './ops/catalogue.js';
import { FAST_PARAMS } from './ops/fast-params.js';
import { Shape, sizeOf } from './shape.js';

export const TaskKey = z.string().regex(KEY_PATTERN, 'task key must look like <op>-<token>:<i>,<j>');

export const TaskSpec = z
  .object({
    key: TaskKey,
    op: z.string(),
    params: z.record(z.string(), z.unknown()),
    /** Input keys, in the order the op takes them. A key may repeat. */
    deps: z.array(TaskKey),
    shape: Shape,
    dtype: Dtype,
    nbytes: z.number().int().nonnegative(),
    /** Static order: lower runs first. Assigned by the client's ordering pass. */
    priority: z.number().int().nonnegative(),
    /** 'gpu': must run on a GPU; 'auto': on a GPU where there is one; absent: CPU (device.ts). */
    device: TaskDevice.optional(),
    /** true: a worker with a result cache reads the output from it, or stores it there (compute's `cache`). */
    cache: z.literal(true).optional(),
  })
  .strict();
export type TaskSpec = z.infer<typeof TaskSpec>;

export const Graph = z
  .object({
    tasks: z.array(TaskSpec),
    /** Keys whose chunks the client will gather (or persist). */
    outputs: z.array(TaskKey).min(1),
  })
  .strict();
export type Graph = z.infer<typeof Graph>;

const MAX_ISSUES = 50;

/**
 * Structural and semantic validation: schema, duplicate keys, missing dependencies, unknown ops,
 * op parameters, declared shapes against the op's rule, cycles. Throws GraphValidationError
 * listing what is wrong, task by task.
 */
export function validateGraph(input: unknown): Graph {
  let g: Graph;
  if (isGraphEnvelope(input)) {
    g = input;
  } else {
    const parsed = Graph.safeParse(input);
    if (!parsed.success) {
      throw new GraphValidationError(
        parsed.error.issues.slice(0, MAX_ISSUES).map((i) => ({ message: `${i.path.join('.') || 'graph'}: ${i.message}` })),
      );
    }
    g = parsed.data;
  }
  const issues: GraphIssue[] = [];
  const byKey = new Map<string, TaskSpec>();
  for (const t of g.tasks) {
    if (byKey.has(t.key)) issues.push({ key: t.key, message: 'duplicate task key' });
    byKey.set(t.key, t);
  }
  for (const t of g.tasks) {
    if (issues.length >= MAX_ISSUES) break;
    const want = sizeOf(t.shape) * itemsize(t.dtype);
    if (t.nbytes !== want) issues.push({ key: t.key, message: `nbytes ${t.nbytes} but ${t.dtype} of shape [${t.shape.join(', ')}] is ${want} bytes` });
    if (!isOpName(t.op)) {
      issues.push({ key: t.key, message: `unknown op "${t.op}"` });
      continue;
    }
    const missing = t.deps.filter((d) => !byKey.has(d));
    if (missing.length) {
      issues.push({ key: t.key, message: `depends on ${missing.slice(0, 3).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not in the graph` });
      continue;
    }
    const op = OPS[t.op];
    let params: unknown = t.params;
    if (!FAST_PARAMS[t.op]?.(params)) {
      const p = op.params.safeParse(t.params);
      if (!p.success) {
        const first = p.error.issues[0]!;
        issues.push({ key: t.key, message: `bad ${t.op} params: ${first.path.join('.') || 'params'}: ${first.message}` });
        continue;
      }
      params = p.data;
    }
    const deps: ArrayMeta[] = t.deps.map((d) => byKey.get(d)!);
    const bad = complexRefusal(t.op, deps, t) ?? (op.check as (p: unknown, d: readonly ArrayMeta[], o: ArrayMeta) => string | undefined)(params, deps, t);
    if (bad) issues.push({ key: t.key, message: `${t.op}: ${bad}` });
  }
  for (const o of g.outputs) if (!byKey.has(o)) issues.push({ key: o, message: 'output is not a task of the graph' });
  if (issues.length === 0) {
    const cycle = findCycle(g.tasks, byKey);
    if (cycle) issues.push({ key: cycle[0], message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  if (issues.length) throw new GraphValidationError(issues);
  return g;
}

const DTYPE_SET = new Set<string>(Dtype.options);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * The same check as the Graph schema, written out: graphs have 10^5 tasks and zod would copy
 * every one of them. Only when this says no does zod run, to name what is wrong.
 */
function isGraphEnvelope(v: unknown): v is Graph {
  if (typeof v !== 'object' || v === null) return false;
  const g = v as Record<string, unknown>;
  if (Object.keys(g).length !== 2 || !Array.isArray(g.tasks) || !Array.isArray(g.outputs) || g.outputs.length === 0) return false;
  for (const o of g.outputs) if (typeof o !== 'string' || !KEY_PATTERN.test(o)) return false;
  for (const t of g.tasks as unknown[]) {
    if (typeof t !== 'object' || t === null) return false;
    const r = t as Record<string, unknown>;
    const fields = Object.keys(t).length;
    if (fields !== 8 && !(fields === 9 && (r.device === 'gpu' || r.device === 'auto'))) return false;
    if (typeof r.key !== 'string' || !KEY_PATTERN.test(r.key) || typeof r.op !== 'string') return false;
    if (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params)) return false;
    if (!Array.isArray(r.deps) || !r.deps.every((d) => typeof d === 'string' && KEY_PATTERN.test(d))) return false;
    if (!Array.isArray(r.shape) || !r.shape.every(isCount)) return false;
    if (typeof r.dtype !== 'string' || !DTYPE_SET.has(r.dtype) || !isCount(r.nbytes) || !isCount(r.priority)) return false;
  }
  return true;
}

/** Iterative three-colour DFS; returns one cycle's keys if there is one. */
function findCycle(tasks: readonly TaskSpec[], byKey: ReadonlyMap<string, TaskSpec>): string[] | undefined {
  const colour = new Map<string, 1 | 2>();
  for (const root of tasks) {
    if (colour.has(root.key)) continue;
    const stack: { key: string; next: number }[] = [{ key: root.key, next: 0 }];
    colour.set(root.key, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const deps = byKey.get(top.key)!.deps;
      if (top.next >= deps.length) {
        colour.set(top.key, 2);
        stack.pop();
        continue;
      }
      const d = deps[top.next++]!;
      const c = colour.get(d);
      if (c === 1) {
        const from = stack.findIndex((s) => s.key === d);
        return [...stack.slice(from).map((s) => s.key), d];
      }
      if (c === undefined) {
        colour.set(d, 1);
        stack.push({ key: d, next: 0 });
      }
    }
  }
  return undefined;
}

export function encodeGraph(g: Graph): Uint8Array {
  return pack(g);
}

/** Decode msgpack bytes and validate them; bad bytes raise GraphValidationError, never a crash. */
export function decodeGraph(bytes: Uint8Array): Graph {
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (e) {
    throw new GraphValidationError([{ message: `body is not valid msgpack: ${(e as Error).message}` }]);
  }
  return validateGraph(raw);
}
