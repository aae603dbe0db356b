// Tessera's WebAssembly kernels (AssemblyScript, built by `npm run build:wasm` into
// ../wasm/kernels.wasm; loaded by src/kernels/wasm.ts). No runtime allocation: JS lays out the
// linear memory above heapBase() and passes byte offsets.
export { uniformTile } from './random';
export { sin, cos, sincos } from './trig';
export { binary, binaryChecked, sum, check64, beyond, divideBy, arangeTile, exactSum } from './arith';
export { gemmBlock } from './gemm';

export function heapBase(): usize {
  return __heap_base;
}
