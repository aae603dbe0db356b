import { AssembleParams, type InputLocation, type Region, type TaskSpec } from '@tessera/protocol';

/** A region is fetched instead of the whole chunk when it is at most this part of it. */
const REGION_FRACTION = 0.5;

/**
 * An assemble task (a rechunk, slice or concatenation) reads pieces of its inputs: per input,
 * the box its pieces read, where that box is a small part of the chunk. Fetched alone (the peer
 * server cuts it out), only those bytes cross the network and none of the rest is held here: an
 * all-to-all rechunk moves each piece once rather than every input block to every reader.
 * Undefined where nothing is worth it (or the task is of another op).
 */
export function inputRegions(spec: TaskSpec, locations: readonly InputLocation[]): (Region | undefined)[] | undefined {
  if (spec.op !== 'assemble') return undefined;
  const parsed = AssembleParams.safeParse(spec.params);
  if (!parsed.success) return undefined; // the kernel will say what is wrong
  const boxes: ({ lo: number[]; hi: number[] } | undefined)[] = spec.deps.map(() => undefined);
  for (const piece of parsed.data.pieces) {
    if (piece.input >= spec.deps.length) return undefined;
    if (piece.src.some((s) => s.count === 0)) continue;
    const lo = piece.src.map((s) => (s.step > 0 ? s.start : s.start + (s.count - 1) * s.step));
    const hi = piece.src.map((s) => (s.step > 0 ? s.start + (s.count - 1) * s.step : s.start) + 1);
    const b = boxes[piece.input];
    boxes[piece.input] = b ? { lo: b.lo.map((v, a) => Math.min(v, lo[a]!)), hi: b.hi.map((v, a) => Math.max(v, hi[a]!)) } : { lo, hi };
  }
  let any = false;
  const regions = spec.deps.map((key, i): Region | undefined => {
    const b = boxes[i];
    const loc = locations.find((l) => l.key === key);
    if (!b || !loc || b.lo.length !== loc.shape.length) return undefined;
    if (b.lo.some((v, a) => v < 0 || b.hi[a]! > loc.shape[a]!)) return undefined;
    const count = b.hi.map((h, a) => h - b.lo[a]!);
    const part = count.reduce((m, c) => m * c, 1);
    if (part > REGION_FRACTION * loc.shape.reduce((m, c) => m * c, 1)) return undefined;
    any = true;
    return { start: b.lo, count };
  });
  return any ? regions : undefined;
}

/** The task with each piece of an input that came as a region read relative to that region. */
export function rebaseOnRegions(spec: TaskSpec, fetched: readonly (Region | undefined)[]): TaskSpec {
  const p = AssembleParams.parse(spec.params);
  const pieces = p.pieces.map((pc) => {
    const r = fetched[pc.input];
    return r ? { ...pc, src: pc.src.map((s, a) => ({ ...s, start: s.start - r.start[a]! })) } : pc;
  });
  return { ...spec, params: { pieces } };
}
