import { DTYPES } from '../dtype.js';
import { ELEMENTWISE_OPS, SOURCE_OPS } from './elementwise.js';
import { REDUCTION_KINDS } from './reduction.js';

/**
 * Hand-written accept checks for the parameters of the ops a big graph is made of. They accept
 * exactly what the zod schemas in catalogue.ts accept (the tests hold them to that) but copy and
 * allocate nothing; when one says no, the zod schema runs to say what is wrong.
 */
type Guard = (p: unknown) => boolean;

const DT = new Set<string>(DTYPES);
const EW = new Set<string>(ELEMENTWISE_OPS);
const KINDS = new Set<string>(REDUCTION_KINDS);
const SRC = new Set<string>(SOURCE_OPS);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIdx = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isIdxList = (v: unknown): boolean => Array.isArray(v) && v.every(isIdx);
const isNum = (v: unknown): boolean => typeof v === 'number';
const isNumNotNaN = (v: unknown): boolean => typeof v === 'number' && !Number.isNaN(v);

/** Exactly these keys, required ones present (optional ones may be absent). */
function keysOk(o: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): boolean {
  let n = 0;
  for (const k in o) {
    if (!required.includes(k) && !optional.includes(k)) return false;
    if (o[k] === undefined && !optional.includes(k)) return false;
    n++;
  }
  return required.every((k) => k in o) && n >= required.length;
}

function isOperand(a: unknown): boolean {
  if (!isObj(a)) return false;
  if ('input' in a) return keysOk(a, ['input']) && isIdx(a.input);
  if ('ref' in a) return keysOk(a, ['ref']) && isIdx(a.ref);
  return keysOk(a, ['const', 'dtype']) && isNum(a.const) && DT.has(a.dtype as string);
}

function isInstruction(i: unknown): boolean {
  if (!isObj(i) || !keysOk(i, ['op', 'args', 'dtype'])) return false;
  const args = i.args;
  return EW.has(i.op as string) && DT.has(i.dtype as string) && Array.isArray(args) && args.length >= 1 && args.length <= 3 && args.every(isOperand);
}

function isView(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, [], ['perm', 'source'])) return false;
  if (v.perm !== undefined && !isIdxList(v.perm)) return false;
  if (v.source === undefined) return true;
  const s = v.source;
  // The source's own params are checked by its op's guard in checkElementwise.
  return isObj(s) && keysOk(s, ['op', 'params', 'shape', 'dtype']) && SRC.has(s.op as string) && isObj(s.params) && isIdxList(s.shape) && DT.has(s.dtype as string);
}

function isReduceSpec(r: unknown): boolean {
  return (
    isObj(r) &&
    keysOk(r, ['kind', 'axes'], ['offset', 'fullShape']) &&
    KINDS.has(r.kind as string) &&
    isIdxList(r.axes) &&
    (r.offset === undefined || isIdxList(r.offset)) &&
    (r.fullShape === undefined || isIdxList(r.fullShape))
  );
}

export const FAST_PARAMS: Record<string, Guard> = {
  full: (p) => isObj(p) && keysOk(p, ['value']) && isNum(p.value),
  arange: (p) => isObj(p) && keysOk(p, ['start', 'step']) && isNumNotNaN(p.start) && isNumNotNaN(p.step),
  random: (p) =>
    isObj(p) &&
    keysOk(p, ['dist', 'seed', 'a', 'b', 'offset', 'fullShape']) &&
    (p.dist === 'uniform' || p.dist === 'normal') &&
    isIdx(p.seed) &&
    (p.seed as number) <= 0xffffffff &&
    isNumNotNaN(p.a) &&
    isNumNotNaN(p.b) &&
    isIdxList(p.offset) &&
    isIdxList(p.fullShape),
  elementwise: (p) =>
    isObj(p) &&
    keysOk(p, ['program', 'inputs', 'domain'], ['reduce']) &&
    Array.isArray(p.program) &&
    p.program.length >= 1 &&
    p.program.every(isInstruction) &&
    Array.isArray(p.inputs) &&
    p.inputs.every(isView) &&
    isIdxList(p.domain) &&
    (p.reduce === undefined || isReduceSpec(p.reduce)),
  'reduce-partial': isReduceSpec,
  'reduce-merge': (p) =>
    isObj(p) &&
    keysOk(p, ['kind', 'axes'], ['final']) &&
    KINDS.has(p.kind as string) &&
    isIdxList(p.axes) &&
    (p.final === undefined ||
      (isObj(p.final) && keysOk(p.final, ['dtype', 'keepdims', 'ddof']) && DT.has(p.final.dtype as string) && typeof p.final.keepdims === 'boolean' && isIdx(p.final.ddof))),
  transpose: (p) => isObj(p) && keysOk(p, ['axes']) && isIdxList(p.axes),
  reshape: (p) => isObj(p) && keysOk(p, ['shape']) && isIdxList(p.shape),
};
