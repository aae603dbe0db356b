import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeKernels, nativeUnavailable } from './native.js';

const addon = fileURLToPath(new URL('../../build/Release/tessera_native.node', import.meta.url));

/**
 * In a child process with TESSERA_GEMM_ISA=isa (the micro-kernel is chosen when the addon loads):
 * the kernel it got, and the largest relative error over odd shapes and all four layouts.
 */
function childCheck(isa: string): { isa: string; err: number } {
  const script = `
    const m = require(${JSON.stringify(addon)});
    let seed = 1, err = 0;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
    for (const [M, N, K] of [[1, 1, 1], [7, 17, 5], [145, 33, 257], [13, 2049, 3], [6, 16, 300]]) {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        const A = Float64Array.from({ length: M * K }, rnd), B = Float32Array.from({ length: K * N }, rnd);
        const C = new Float64Array(M * N).fill(1);
        const [aRs, aCs] = tA ? [1, M] : [K, 1], [bRs, bCs] = tB ? [1, K] : [N, 1];
        m.gemm(M, N, K, A, 0, aRs, aCs, B, 0, bRs, bCs, C, 0, N);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = 1, mag = 1;
          for (let k = 0; k < K; k++) { const t = A[i * aRs + k * aCs] * B[k * bRs + j * bCs]; s += t; mag += Math.abs(t); }
          err = Math.max(err, Math.abs(C[i * N + j] - s) / mag);
        }
      }
    }
    console.log(JSON.stringify({ isa: m.isa, err }));`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TESSERA_GEMM_ISA: isa }, encoding: 'utf8' });
  return JSON.parse(out) as { isa: string; err: number };
}

describe('native kernels', () => {
  it('are built at install and loaded (TESSERA_NATIVE=0 turns them off)', () => {
    if (process.env.TESSERA_NATIVE === '0') {
      expect(nativeKernels()).toBeUndefined();
      expect(nativeUnavailable()).toMatch(/TESSERA_NATIVE=0/);
    } else {
      expect(nativeUnavailable()).toBeUndefined();
      expect(['avx512', 'avx2', 'plain']).toContain(nativeKernels()!.isa);
    }
  });

  // Each micro-kernel the CPU has is checked (CI's CPU picks one by itself); one it lacks falls back.
  for (const isa of ['avx512', 'avx2', 'plain']) {
    it(`GEMM with the ${isa} micro-kernel matches a plain triple loop at odd shapes and layouts`, () => {
      const r = childCheck(isa);
      expect(['plain', isa]).toContain(r.isa);
      expect(r.err).toBeLessThan(1e-14);
    });
  }

  it('adviseHugePages takes a Uint8Array and says whether the kernel took the advice', () => {
    const m = nativeKernels();
    if (!m) return expect(process.env.TESSERA_NATIVE).toBe('0');
    expect(typeof m.adviseHugePages(new Uint8Array(new SharedArrayBuffer(8 * 2 ** 20)))).toBe('boolean');
    expect(m.adviseHugePages(new Uint8Array(16))).toBe(false); // no 2 MiB page inside
    expect(() => m.adviseHugePages(new Float64Array(4) as never)).toThrow(TypeError);
  });

  it('rejects views that reach past their arrays, and arrays of other types, with a TypeError', () => {
    const m = nativeKernels();
    if (!m) return expect(process.env.TESSERA_NATIVE).toBe('0');
    const a = new Float64Array(6),
      c = new Float64Array(4);
    expect(() => m.gemm(2, 2, 3, a, 0, 3, 1, a, 0, 2, 1, c, 0, 2)).not.toThrow();
    expect(() => m.gemm(2, 2, 4, a, 0, 3, 1, a, 0, 2, 1, c, 0, 2)).toThrow(/A's view reaches past/);
    expect(() => m.gemm(2, 2, 3, a, 0, 3, 1, a, 1, 2, 1, c, 0, 2)).toThrow(/B's view reaches past/);
    expect(() => m.gemm(2, 2, 3, a, 0, 3, 1, a, 0, 2, 1, c, 1, 2)).toThrow(/C's view reaches past/);
    expect(() => m.gemm(2, 2, 3, new Int16Array(6) as never, 0, 3, 1, a, 0, 2, 1, c, 0, 2)).toThrow(TypeError);
    expect(() => m.gemm(2, 2, 3, a, 0, 3, 1, a, 0, 2, 1, new Float32Array(4) as never, 0, 2)).toThrow(/C must be a Float64Array/);
  });
});
