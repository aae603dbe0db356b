import { execFileSync, spawnSync } from 'node:child_process';
import Zstd from 'numcodecs/zstd';
import { describe, expect, it } from 'vitest';
import { zstdKernels, zstdUnavailable } from './native.js';

// Where pkg-config finds libzstd (as .ci/run installs it), the addon must have been built.
const installed = spawnSync('pkg-config', ['--exists', 'libzstd']).status === 0;
const off = process.env.TESSERA_NATIVE === '0' || process.env.TESSERA_ZSTD === '0';
const z = zstdKernels();

function sample(n: number, compressible: boolean): Uint8Array {
  const out = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = compressible ? (i >> 6) % 7 + ((s >>> 29) & 1) : s >>> 24;
  }
  return out;
}

/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const join = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const py = (code: string, input: Uint8Array): Buffer => execFileSync('/usr/bin/python3', ['-c', code], { input, maxBuffer: 1 << 26 });

it('says why it is absent when turned off (TESSERA_ZSTD=0), and Zarr then uses the WebAssembly zstd', () => {
  const native = new URL('../../dist/kernels/native.js', import.meta.url).href;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import { zstdKernels, zstdUnavailable } from '${native}'; console.log(JSON.stringify([zstdKernels() === undefined, zstdUnavailable()]))`], {
    encoding: 'utf8',
    env: { ...process.env, TESSERA_ZSTD: '0' },
  });
  expect(JSON.parse(out)).toEqual([true, 'turned off (TESSERA_ZSTD=0)']);
});

describe.runIf(installed && !off)('libzstd addon', () => {
  it('is built and loaded where libzstd is installed', () => {
    expect(zstdUnavailable()).toBeUndefined();
    expect(z!.version).toMatch(/^1\.\d+\.\d+$/);
  });

  it('round-trips empty, one-byte and odd-sized buffers, into shared memory too', () => {
    for (const [n, comp] of [[0, true], [1, false], [(1 << 20) + 77, true], [(1 << 20) + 3, false]] as const) {
      const src = sample(n, comp);
      const c = z!.compress(src, 1);
      expect(z!.contentSize(c)).toBe(n);
      expect(same(z!.decompress(c), src)).toBe(true);
      const dst = new Uint8Array(new SharedArrayBuffer(n));
      expect(z!.decompressInto(c, dst)).toBe(n);
      expect(same(dst, src)).toBe(true);
      if (comp && n > 1000) expect(c.length).toBeLessThan(n / 4);
    }
  });

  it("agrees with Python's numcodecs and the npm numcodecs (WebAssembly) both ways", async () => {
    const src = sample(300_001, true);
    const fromPy = new Uint8Array(py('import sys, numcodecs; sys.stdout.buffer.write(numcodecs.Zstd(level=3).encode(sys.stdin.buffer.read()))', src));
    expect(same(z!.decompress(fromPy), src)).toBe(true);
    const mine = z!.compress(src, 5);
    expect(new Uint8Array(py('import sys, numcodecs; sys.stdout.buffer.write(bytes(numcodecs.Zstd().decode(sys.stdin.buffer.read())))', mine))).toEqual(src);
    expect(same(await Zstd.fromConfig({ level: 1 }).decode(mine), src)).toBe(true);
  });

  it('decodes concatenated frames, and a streamed frame that records no size', () => {
    const a = sample(5000, true);
    const b = sample(7001, false);
    const ca = z!.compress(a, 1);
    const cb = z!.compress(b, 1);
    const both = new Uint8Array(ca.length + cb.length);
    both.set(ca);
    both.set(cb, ca.length);
    expect(z!.contentSize(both)).toBe(a.length + b.length);
    const dst = new Uint8Array(a.length + b.length);
    z!.decompressInto(both, dst);
    expect(same(dst, new Uint8Array([...a, ...b]))).toBe(true);
    // zstd reading a pipe cannot know the size: its frame says "unknown".
    const streamed = new Uint8Array(execFileSync('sh', ['-c', 'cat | zstd -q -c'], { input: b }));
    expect(z!.contentSize(streamed)).toBe(-1);
    expect(same(z!.decompress(streamed), b)).toBe(true);
  });

  it('decompress decodes concatenated frames with and without sizes, and a skippable frame', () => {
    const a = sample(70_001, true);
    const b = sample(3, false);
    const streamed = new Uint8Array(execFileSync('sh', ['-c', 'cat | zstd -q -c'], { input: b }));
    // A skippable frame: magic 0x184D2A50, a 4-byte length, that many bytes zstd ignores.
    const skip = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]);
    const ca = z!.compress(a, 1);
    expect(same(z!.decompress(join(ca, skip, ca)), join(a, a))).toBe(true);
    expect(z!.contentSize(join(ca, skip, ca))).toBe(2 * a.length);
    expect(same(z!.decompress(join(ca, streamed, ca)), join(a, b, a))).toBe(true);
    expect(z!.contentSize(join(ca, streamed))).toBe(-1);
  });

  it('refuses a frame header that claims more than its blocks can hold or than a buffer holds, without aborting', () => {
    // Frame header: magic, descriptor (8-byte content size, single segment), the size; then RLE blocks
    // of 128 KiB each (3-byte block header, 1 byte), the last one flagged.
    const frame = (claim: number, blocks: number): Uint8Array => {
      const out = new Uint8Array(13 + blocks * 4);
      const v = new DataView(out.buffer);
      v.setUint32(0, 0xfd2fb528, true);
      out[4] = 0b1110_0000;
      v.setBigUint64(5, BigInt(claim), true);
      for (let k = 0; k < blocks; k++) {
        const h = (k === blocks - 1 ? 1 : 0) | (1 << 1) | ((1 << 17) << 3);
        out.set([h & 255, (h >> 8) & 255, (h >> 16) & 255, 7], 13 + k * 4);
      }
      return out;
    };
    const ok = frame(3 << 17, 3);
    expect(z!.contentSize(ok)).toBe(3 << 17);
    expect(z!.decompress(ok).every((x) => x === 7)).toBe(true);
    // 1 TiB claimed by one block: napi_create_arraybuffer would abort the process.
    expect(() => z!.contentSize(frame(2 ** 40, 1))).toThrow(/zstd: Data corruption detected/);
    expect(() => z!.decompress(frame(2 ** 40, 1))).toThrow(/zstd: Data corruption detected/);
    // 5 GiB in 40960 real blocks: more than Node 20's longest Uint8Array (4 GiB).
    const big = frame(5 * 2 ** 30, 40960);
    expect(() => z!.contentSize(big)).toThrow(/zstd: Unsupported frame parameter/);
    expect(() => z!.decompress(big)).toThrow(/zstd: Unsupported frame parameter/);
  });

  it('names zstd\'s error for data that is not zstd, and a TypeError for wrong arguments', () => {
    const junk = sample(64, false);
    expect(() => z!.decompress(junk)).toThrow(/zstd: Unknown frame descriptor/);
    expect(() => z!.contentSize(junk)).toThrow(/not zstd data/);
    const c = z!.compress(sample(100, true), 1);
    expect(() => z!.decompressInto(c, new Uint8Array(10))).toThrow(/zstd: Destination buffer is too small/);
    expect(() => z!.compress('x' as never, 1)).toThrow(TypeError);
    expect(() => z!.compress(new Float64Array(4) as never, 1)).toThrow(TypeError);
    expect(() => z!.compress(c, 1.5)).toThrow(TypeError);
    expect(() => z!.compress(c, Number.NaN)).toThrow(TypeError);
    expect(() => z!.decompress(undefined as never)).toThrow(TypeError);
    // Levels past zstd's range are clamped to it, as numcodecs does.
    expect(same(z!.decompress(z!.compress(c, 99)), c)).toBe(true);
    // Cut short: with its size recorded, and streamed (no size): both name zstd's error.
    expect(() => z!.decompress(c.subarray(0, c.length - 3))).toThrow(/zstd: /);
    const streamed = new Uint8Array(execFileSync('sh', ['-c', 'cat | zstd -q -c'], { input: sample(100_000, false) }));
    expect(() => z!.decompress(streamed.subarray(0, streamed.length - 10))).toThrow(/zstd: Src size is incorrect/);
  });
});
