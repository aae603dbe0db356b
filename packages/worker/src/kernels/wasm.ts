import { readFileSync } from 'node:fs';

/**
 * The WebAssembly kernels (packages/worker/assembly, built by `npm run build:wasm` into
 * packages/worker/wasm/kernels.wasm). src/kernels and dist/kernels sit at the same depth, so the
 * same relative URL finds the module from the TS sources (vitest) and from the build. Each
 * thread instantiates its own copy with its own memory; kernels run synchronously, never nested.
 *
 * Linear memory holds the interpreter's registers (see program.ts `scratch`), so a WASM kernel
 * reads and writes them in place. Values elsewhere (an input read in place from a chunk, an output
 * tile) are copied through staging tiles, one tile at a time, so the copy stays in cache.
 * Memory is laid out once and never grown: growing would detach every view made before. The
 * GEMM's packing blocks and C tile (about 3 MiB) are part of that fixed layout.
 */

/** Elements per tile: one register, one staging area. */
export const TILE = 4096;

// The WebAssembly global of Node 20, which neither the ES lib nor @types/node 20 declares.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

interface Kernels {
  memory: WasmMemory;
  heapBase(): number;
  uniformTile(out: number, nr: number, nc: number, g0: number, gR: number, gC: number, seed: number, stream: number, a: number, scale: number, f32: number): void;
  sin(src: number, dst: number, n: number): number;
  cos(src: number, dst: number, n: number): number;
  sincos(src: number, dstSin: number, dstCos: number, n: number): number;
  binary(op: number, a: number, b: number, o: number, n: number): void;
  binaryChecked(op: number, a: number, b: number, o: number, n: number, signed: number): number;
  sum(p: number, n: number): number;
  check64(p: number, n: number, signed: number): number;
  beyond(p: number, n: number, limit: number): number;
  divideBy(op: number, a: number, y: number, o: number, n: number): void;
  exactSum(p: number, n: number, limit: number): number;
  arangeTile(o: number, nr: number, nc: number, g0: number, gR: number, gC: number, start: number, step: number, trunc: number): void;
  gemmBlock(pa: number, pb: number, pc: number, mcp: number, ncp: number, kc: number, ldc: number): void;
}

function load(): Kernels {
  const url = new URL('../../wasm/kernels.wasm', import.meta.url);
  let bytes: Buffer;
  try {
    bytes = readFileSync(url);
  } catch (e) {
    throw new Error(`${url.pathname} is missing: run \`npm run build\` (it compiles packages/worker/assembly) (${(e as Error).message})`);
  }
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Kernels;
}

const k = load();

/** Registers that live in linear memory; a program needing more gets plain arrays for the rest. */
const MAX_REGISTERS = 48;
const STAGES = 3;
const TILE_BYTES = TILE * 8;
const base = (k.heapBase() + 63) & ~63;

/**
 * GEMM blocking (gemm.ts; assembly/gemm.ts fixes the 4x4 micro-tile). A packed MC x KC block of A
 * (192 KiB) stays in L2 while the 4-column micro-panels of a KC x NC block of B (2 MiB, L3) pass
 * through L1; the C tile is MC x NC (768 KiB). On a 1000^3 product (Zen 4: 32 KiB L1d, 1 MiB L2)
 * KC 256..512 and MC 48..128 measured alike, within noise; KC = 256 keeps the summation order
 * (hence the bits) of the former JS kernel.
 */
export const GEMM_MR = 4, GEMM_NR = 4, GEMM_KC = 256, GEMM_MC = 96, GEMM_NC = 1024;
const gemmAt = base + (MAX_REGISTERS + STAGES) * TILE_BYTES;
const gemmA = gemmAt, gemmB = gemmA + GEMM_MC * GEMM_KC * 8, gemmC = gemmB + GEMM_KC * GEMM_NC * 8;
{
  const want = gemmC + GEMM_MC * GEMM_NC * 8;
  const have = k.memory.buffer.byteLength;
  if (want > have) k.memory.grow(Math.ceil((want - have) / 65536));
}
const buffer = k.memory.buffer;
let registers = 0;
const stageAt = (s: number): number => base + (MAX_REGISTERS + s) * TILE_BYTES;
const stages = Array.from({ length: STAGES }, (_, s) => new Float64Array(buffer, stageAt(s), TILE));

/** A fresh TILE-element register in linear memory, or undefined when they are all handed out. */
export function wasmRegister(): Float64Array | undefined {
  if (registers === MAX_REGISTERS) return undefined;
  return new Float64Array(buffer, base + registers++ * TILE_BYTES, TILE);
}

const inMemory = (a: Float64Array): boolean => a.buffer === buffer;

/** Byte offset of a's first n values in linear memory, copying them into staging tile s if needed. */
function source(a: Float64Array, n: number, s: number): number {
  if (inMemory(a)) return a.byteOffset;
  stages[s]!.set(n === a.length ? a : a.subarray(0, n));
  return stageAt(s);
}

/** Where to write n values meant for o: o itself when it is in linear memory, else staging tile s. */
const target = (o: Float64Array, s: number): number => (inMemory(o) ? o.byteOffset : stageAt(s));

function finish(o: Float64Array, n: number, s: number): void {
  if (!inMemory(o)) o.set(stages[s]!.subarray(0, n));
}

const LIMIT = 2 ** 30;

/**
 * Lanes the SIMD kernel does not handle (|x| >= 2^30, Inf, NaN) come back holding x itself, so
 * they can be redone with Math even when o and a are the same register.
 */
function redo(o: Float64Array, n: number, f: (x: number) => number): void {
  for (let i = 0; i < n; i++) {
    const v = o[i]!;
    if (!(Math.abs(v) < LIMIT)) o[i] = f(v);
  }
}

/** o[0..n) = sin(a[0..n)), o may be a; n <= TILE. */
export function sinInto(a: Float64Array, o: Float64Array, n: number): void {
  const bad = k.sin(source(a, n, 0), target(o, 1), n);
  finish(o, n, 1);
  if (bad) redo(o, n, Math.sin);
}

export function cosInto(a: Float64Array, o: Float64Array, n: number): void {
  const bad = k.cos(source(a, n, 0), target(o, 1), n);
  finish(o, n, 1);
  if (bad) redo(o, n, Math.cos);
}

/** Both at once (one argument reduction): s = sin(a), c = cos(a); s and c distinct, either may be a. */
export function sinCosInto(a: Float64Array, s: Float64Array, c: Float64Array, n: number): void {
  const bad = k.sincos(source(a, n, 0), target(s, 1), target(c, 2), n);
  finish(s, n, 1);
  finish(c, n, 2);
  if (bad) {
    redo(s, n, Math.sin);
    redo(c, n, Math.cos);
  }
}

/** Op codes of assembly/arith.ts `binary`. */
export const W_ADD = 0, W_SUB = 1, W_MUL = 2, W_DIV = 3, W_SQUARE = 4, W_IFLOORDIV = 5, W_IREM = 6;

/** o[0..n) = a op b elementwise (W_SQUARE: a * a, b unused); o may be a or b; n <= TILE. */
export function binaryInto(op: number, a: Float64Array, b: Float64Array, o: Float64Array, n: number): void {
  const [pa, pb] = operands(op, a, b, n);
  k.binary(op, pa, pb, target(o, 1), n);
  finish(o, n, 1);
}

/** Byte offsets of a binary op's operands in linear memory (staged where they are not). */
function operands(op: number, a: Float64Array, b: Float64Array, n: number): [number, number] {
  const pa = source(a, n, 0);
  return [pa, op === W_SQUARE || b === a ? pa : source(b, n, 2)];
}

/** o[0..n) = a floor-divided by y (W_IFLOORDIV) or a mod y (W_IREM), numpy's integer semantics; y a nonzero integer, |a| < 2^52. */
export function divideInto(op: number, a: Float64Array, y: number, o: Float64Array, n: number): void {
  k.divideBy(op, source(a, n, 0), y, target(o, 1), n);
  finish(o, n, 1);
}

/**
 * out[o + i*nc + j] = start + g * step (truncated toward zero with trunc), g = g0 + i*gR + j*gC,
 * for an nr x nc tile; false (nothing written) when out is not in linear memory.
 */
export function arangeInMemory(out: Float64Array, o: number, nr: number, nc: number, g0: number, gR: number, gC: number, start: number, step: number, trunc: boolean): boolean {
  if (!inMemory(out)) return false;
  k.arangeTile(out.byteOffset + o * 8, nr, nc, g0, gR, gC, start, step, trunc ? 1 : 0);
  return true;
}

/**
 * The int64 (signed) / uint64 store check of o[0..n) in place (see assembly/arith.ts check64):
 * true when some value is not exactly an integer of the dtype below 2^53; -0 becomes +0.
 * undefined when o is not in linear memory (the caller checks in JS).
 */
export function check64InMemory(o: Float64Array, n: number, signed: boolean): boolean | undefined {
  return inMemory(o) ? k.check64(o.byteOffset, n, signed ? 1 : 0) === 1 : undefined;
}

/**
 * The exact sum of the integer-valued doubles v[off..off+n) when each is below 2^53 / n in
 * magnitude; NaN when one is not, undefined when v is not in linear memory.
 */
export function exactSumInMemory(v: Float64Array, off: number, n: number): number | undefined {
  return inMemory(v) ? k.exactSum(v.byteOffset + off * 8, n, Math.floor(9007199254740992 / n)) : undefined;
}

/** Whether some |a[i]| (i < n) is not below limit, NaN included; undefined when a is not in linear memory. */
export function beyondInMemory(a: Float64Array, n: number, limit: number): boolean | undefined {
  return inMemory(a) ? k.beyond(a.byteOffset, n, limit) === 1 : undefined;
}

/** binaryInto for an int64 (signed) / uint64 result with the store check of check64InMemory in the same pass: true when some value needs the exact path. */
export function binaryCheckedInto(op: number, a: Float64Array, b: Float64Array, o: Float64Array, n: number, signed: boolean): boolean {
  const [pa, pb] = operands(op, a, b, n);
  const bad = k.binaryChecked(op, pa, pb, target(o, 1), n, signed ? 1 : 0);
  finish(o, n, 1);
  return bad === 1;
}

/**
 * Sum of v[off..off+n) bit for bit as reduce.ts sumRange computes it, when v is in WebAssembly
 * memory; undefined otherwise (the caller sums in JS rather than copy).
 */
export function sumInMemory(v: Float64Array, off: number, n: number): number | undefined {
  return inMemory(v) ? k.sum(v.byteOffset + off * 8, n) : undefined;
}

/**
 * out[o + i*nc + j] = a + scale * u(g0 + i*gR + j*gC) for an nr x nc tile (nr * nc <= TILE), u the
 * counter-based uniform of (seed, stream) (see assembly/random.ts); f32: rounded to float32.
 */
export function uniformTile(
  out: Float64Array, o: number, nr: number, nc: number, g0: number, gR: number, gC: number,
  seed: number, stream: number, a: number, scale: number, f32: boolean,
): void {
  const n = nr * nc;
  const direct = inMemory(out);
  k.uniformTile(direct ? out.byteOffset + o * 8 : stageAt(1), nr, nc, g0, gR, gC, seed, stream, a, scale, f32 ? 1 : 0);
  if (!direct) out.set(stages[1]!.subarray(0, n), o);
}

/** Staging tile s as an array (for callers that post-process generated values in JS). */
export function stage(s: number): Float64Array {
  return stages[s]!;
}

/** uniformTile into staging tile s (a + scale * u). */
export function uniformStage(s: number, n: number, g0: number, step: number, seed: number, stream: number): Float64Array {
  k.uniformTile(stageAt(s), 1, n, g0, 0, step, seed, stream, 0, 1, 0);
  return stages[s]!;
}

/** Where gemm.ts packs A and B blocks and reads the C tile back: fixed views of linear memory. */
export const gemmScratch = {
  a: new Float64Array(buffer, gemmA, GEMM_MC * GEMM_KC),
  b: new Float64Array(buffer, gemmB, GEMM_KC * GEMM_NC),
  c: new Float64Array(buffer, gemmC, GEMM_MC * GEMM_NC),
};

/**
 * gemmScratch.c[mcp x ncp, row stride ncp] = packed A block (mcp x kc) * packed B block (kc x ncp);
 * mcp, ncp multiples of 4 within the blocking.
 */
export function gemmBlock(mcp: number, ncp: number, kc: number): void {
  k.gemmBlock(gemmA, gemmB, gemmC, mcp, ncp, kc, ncp);
}
