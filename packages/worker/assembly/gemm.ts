// The GEMM macro-kernel: one packed A block times one packed B block into a C tile, with a 4x4
// micro-kernel whose 16 sums sit in 8 f64x2 registers. Each k step loads one B row (2 vectors)
// and splats 4 A values: 6 loads for 8 multiplies and 8 adds. mul then add, not relaxed FMA, so
// every sum rounds exactly as the JS `c += a * b` did. Measured on the Zen 4 this was tuned on
// (V8 12, TurboFan): 4x4 ~22 GFLOPS; 4x6, 6x4 (12 accumulators) and a 2x-unrolled k loop all
// ran at ~13, since V8 then spills vectors to the stack.

/**
 * C tile (mcp x ncp, row stride ldc elements) = A block * B block, overwritten. A is packed in
 * 4-row panels (a[(panel*kc + k)*4 + row]), B in 4-column panels (b[(panel*kc + k)*4 + col]);
 * mcp and ncp are multiples of 4 (packing pads with zeros).
 */
export function gemmBlock(pa: usize, pb: usize, pc: usize, mcp: i32, ncp: i32, kc: i32, ldc: i32): void {
  const panel = <usize>kc << 5; // bytes of one kc x 4 panel
  const ld = <usize>ldc << 3;
  for (let jr = 0; jr < ncp; jr += 4) {
    const b0 = pb + <usize>(jr >> 2) * panel;
    for (let ir = 0; ir < mcp; ir += 4) {
      micro(pa + <usize>(ir >> 2) * panel, b0, panel, pc + (<usize>(ir * ldc + jr) << 3), ld);
    }
  }
}

// @ts-ignore: decorator
@inline function micro(a: usize, b: usize, panel: usize, c: usize, ld: usize): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0), c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0), c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  const end = a + panel;
  for (; a < end; a += 32, b += 32) {
    const y0 = v128.load(b), y1 = v128.load(b, 16);
    let x = v128.load64_splat(a);
    c00 = f64x2.add(c00, f64x2.mul(x, y0)); c01 = f64x2.add(c01, f64x2.mul(x, y1));
    x = v128.load64_splat(a, 8);
    c10 = f64x2.add(c10, f64x2.mul(x, y0)); c11 = f64x2.add(c11, f64x2.mul(x, y1));
    x = v128.load64_splat(a, 16);
    c20 = f64x2.add(c20, f64x2.mul(x, y0)); c21 = f64x2.add(c21, f64x2.mul(x, y1));
    x = v128.load64_splat(a, 24);
    c30 = f64x2.add(c30, f64x2.mul(x, y0)); c31 = f64x2.add(c31, f64x2.mul(x, y1));
  }
  v128.store(c, c00); v128.store(c, c01, 16); c += ld;
  v128.store(c, c10); v128.store(c, c11, 16); c += ld;
  v128.store(c, c20); v128.store(c, c21, 16); c += ld;
  v128.store(c, c30); v128.store(c, c31, 16);
}
