// Counter-based uniforms: SplitMix64 (Steele, Lea, Flood 2014; Stafford's "Mix13" finaliser),
// evaluated at a counter instead of stepped, so a value depends only on (seed, stream, global
// index g) and any tile of any chunking can be generated on its own. The JS reference is
// uniformAt in src/kernels/random.ts (BigInt); both must compute exactly the same numbers:
//   key = mix64(seed | (stream + 1) << 32)
//   u(g) = (mix64(key + (g + 1) * GAMMA) >>> 11) * 2^-53      (53-bit double in [0, 1))
// One 64-bit hash per 53-bit uniform: two multiplies, where the JS generator needed two 32-bit
// MurmurHash3 chains.

const GAMMA: u64 = 0x9e3779b97f4a7c15;
const M1: u64 = 0xbf58476d1ce4e5b9;
const M2: u64 = 0x94d049bb133111eb;
const TWO_M53: f64 = 1.1102230246251565e-16; // 2^-53

// @ts-ignore: decorator
@inline function mix64(z: u64): u64 {
  z = (z ^ (z >>> 30)) * M1;
  z = (z ^ (z >>> 27)) * M2;
  return z ^ (z >>> 31);
}

/**
 * Fill an nr x nc tile at `out` (float64, row-major) with a + scale * u(g) for
 * g = g0 + i * gR + j * gC. Indices come as f64 (exact below 2^53, like every JS index).
 * f32: round each value to float32, what a float32 source stores.
 */
export function uniformTile(
  out: usize, nr: i32, nc: i32, g0: f64, gR: f64, gC: f64,
  seed: u32, stream: u32, a: f64, scale: f64, f32: bool,
): void {
  const key = mix64(<u64>seed | (<u64>(stream + 1) << 32));
  // Stepping the counter by gC adds gC * GAMMA to the hashed state (mod 2^64).
  const inc = <u64>gC * GAMMA;
  for (let i = 0; i < nr; i++) {
    let s = key + (<u64>(g0 + <f64>i * gR) + 1) * GAMMA;
    let p = out + <usize>(i * nc) * 8;
    const end = p + <usize>nc * 8;
    if (f32) {
      for (; p < end; p += 8, s += inc) store<f64>(p, <f64><f32>(a + scale * (<f64>(mix64(s) >>> 11) * TWO_M53)));
    } else {
      for (; p < end; p += 8, s += inc) store<f64>(p, a + scale * (<f64>(mix64(s) >>> 11) * TWO_M53));
    }
  }
}
