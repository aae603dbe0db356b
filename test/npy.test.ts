// .npy files both ways against numpy itself: numpy.save writes, fromNpy reads (every dtype, both
// byte orders, C and Fortran order, odd chunkings); toNpy writes, numpy.load reads the same values.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';

const dir = mkdtempSync(join(tmpdir(), 'tessera-npy-'));
const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', cwd: dir });
const DTYPES = ['float64', 'float32', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool'] as const;
const asList = (r: ta.NDArray): (number | string)[] => Array.from(r.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));

describe('.npy files', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await ta.Client.connect({ threads: 2 });
  });
  afterAll(async () => {
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fromNpy reads what numpy.save wrote: every dtype, little- and big-endian, C and Fortran order', async () => {
    // Values with the extremes of each dtype; 7 x 5 x 3 read in chunks that cut every axis.
    py(`
import numpy as np, json
out = {}
for name in ${JSON.stringify(DTYPES)}:
    dt = np.dtype(name)
    if dt.kind == 'b': base = (np.arange(105) % 3 == 0)
    elif dt.kind == 'f': base = np.linspace(-1e3, 1e3, 105).astype(dt); base[3] = np.nan; base[4] = np.inf; base[5] = -0.0
    else:
        info = np.iinfo(dt); base = np.arange(105, dtype=np.float64) * 977 % 251
        base = base.astype(dt); base[0] = info.min; base[1] = info.max
    a = base.reshape(7, 5, 3)
    np.save(name + '-c.npy', a)
    np.save(name + '-f.npy', np.asfortranarray(a))
    np.save(name + '-be.npy', a.astype(dt.newbyteorder('>')))
    out[name] = [str(v) if dt.kind in 'iu' and dt.itemsize == 8 else (None if v != v else (repr(float(v)) if abs(v) == np.inf else float(v))) for v in a.ravel().tolist()]
json.dump(out, open('want.json', 'w'))
`);
    const want = JSON.parse(py("print(open('want.json').read())")) as Record<string, (number | string | null)[]>;
    for (const dtype of DTYPES) {
      for (const kind of ['c', 'f', 'be']) {
        const x = await ta.fromNpy(join(dir, `${dtype}-${kind}.npy`), { chunks: [3, 2, 2] });
        expect([dtype, kind, x.dtype, x.shape]).toEqual([dtype, kind, dtype, [7, 5, 3]]);
        expect(x.chunks).toEqual([[3, 3, 1], [2, 2, 1], [2, 1]]);
        const got = asList(await client.compute(x)).map((v) => (typeof v !== 'number' ? v : Number.isNaN(v) ? null : Number.isFinite(v) ? v : v > 0 ? 'inf' : '-inf'));
        expect([dtype, kind, got]).toEqual([dtype, kind, want[dtype]]);
      }
    }
    // 0-d and 1-d arrays; an empty one.
    py("import numpy as np; np.save('s.npy', np.float32(2.5)); np.save('v.npy', np.arange(10)); np.save('e.npy', np.zeros((0, 4), dtype=np.int16))");
    expect(await client.compute(await ta.fromNpy(join(dir, 's.npy')))).toBe(2.5);
    const v = await ta.fromNpy(join(dir, 'v.npy'), { chunks: 4 });
    expect([v.dtype, v.chunks]).toEqual(['int64', [[4, 4, 2]]]);
    expect(asList(await client.compute(v.sum({ keepdims: true })))).toEqual(['45']);
    const e = await ta.fromNpy(join(dir, 'e.npy'));
    expect([e.dtype, e.shape]).toEqual(['int16', [0, 4]]);
  });

  it('toNpy writes what numpy.load reads, from a lazy array or an NDArray, every dtype', async () => {
    for (const dtype of DTYPES) {
      const x = ta.arange(0, 77, 1, { chunks: 10 }).mul(37).remainder(23).sub(9).astype(dtype).reshape([7, 11]).rechunk([4, 5]);
      await ta.toNpy(join(dir, `out-${dtype}.npy`), x, { client });
      const mine = asList(await client.compute(x));
      const theirs = JSON.parse(py(`import numpy as np, json; a = np.load('out-${dtype}.npy'); print(json.dumps([str(a.dtype), list(a.shape), [str(v) if a.dtype.kind in 'iu' and a.dtype.itemsize == 8 else float(v) for v in a.ravel().tolist()]]))`));
      expect(theirs).toEqual([dtype, [7, 11], mine]);
    }
    await ta.toNpy(join(dir, 'scalar.npy'), ta.arange(0, 5, 1).sum(), { client });
    expect(py("import numpy as np; a = np.load('scalar.npy'); print(a.dtype, a.shape, a)").trim()).toBe('int64 () 10');
    await ta.toNpy(join(dir, 'nd.npy'), { shape: [2, 2], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4.5) });
    expect(py("import numpy as np; print(np.load('nd.npy').tolist())").trim()).toBe('[[1.0, 2.0], [3.0, 4.5]]');
  });

  it('complex128 and complex64 both ways: numpy.save to fromNpy (C, Fortran, big-endian) and toNpy to numpy.load', async () => {
    py(`
import numpy as np
for name in ('complex128', 'complex64'):
    a = (np.arange(30) * 0.5 - 3 + 1j * (np.arange(30) % 7 - 2.25)).astype(name).reshape(5, 3, 2)
    np.save(name + '-c.npy', a); np.save(name + '-f.npy', np.asfortranarray(a)); np.save(name + '-be.npy', a.astype(a.dtype.newbyteorder('>')))
`);
    for (const dtype of ['complex128', 'complex64'] as const) {
      const want = JSON.parse(py(`import numpy as np, json; a = np.load('${dtype}-c.npy'); print(json.dumps(a.ravel().view(a.real.dtype).tolist()))`)) as number[];
      for (const kind of ['c', 'f', 'be']) {
        const x = await ta.fromNpy(join(dir, `${dtype}-${kind}.npy`), { chunks: [2, 2, 1] });
        expect([kind, x.dtype, x.shape]).toEqual([kind, dtype, [5, 3, 2]]);
        expect([kind, asList(await client.compute(x))]).toEqual([kind, want]);
      }
      const y = ta.fft.fft(ta.arange(0, 12, 1, { chunks: 5 }).astype(dtype === 'complex64' ? 'float32' : 'float64').reshape([3, 4]));
      await ta.toNpy(join(dir, `out-${dtype}.npy`), y, { client });
      const back = py(`import numpy as np; a = np.load('out-${dtype}.npy'); b = np.fft.fft(np.arange(12.0).reshape(3, 4)); print(a.dtype, a.shape, np.allclose(a, b, rtol=1e-6, atol=1e-5))`).trim();
      expect(back).toBe(`${dtype} (3, 4) True`);
    }
  });

  it('bad files and calls get typed errors that name the file', async () => {
    await expect(ta.fromNpy(join(dir, 'missing.npy'))).rejects.toThrow(ta.NotFoundError);
    writeFileSync(join(dir, 'junk.npy'), 'not numpy at all');
    await expect(ta.fromNpy(join(dir, 'junk.npy'))).rejects.toThrow(/junk\.npy: not a \.npy file/);
    py("import numpy as np; np.save('c16.npy', np.ones(3, dtype=np.clongdouble)); np.save('f2.npy', np.ones(3, dtype=np.float16)); np.save('rec.npy', np.zeros(2, dtype=[('a', 'i4'), ('b', 'f8')]))");
    await expect(ta.fromNpy(join(dir, 'c16.npy'))).rejects.toThrow(/dtype '<c32' has no Tessera dtype/);
    await expect(ta.fromNpy(join(dir, 'f2.npy'))).rejects.toThrow(/dtype '<f2' is float16, which Tessera lacks .*cast it to float32/);
    await expect(ta.fromNpy(join(dir, 'rec.npy'))).rejects.toThrow(ta.FileFormatError);
    py("import numpy as np; np.save('cut.npy', np.arange(100.0)); d = open('cut.npy','rb').read(); open('cut.npy','wb').write(d[:-8])");
    await expect(ta.fromNpy(join(dir, 'cut.npy'))).rejects.toThrow(/need 800 bytes, the file has 792/);
    await expect(ta.toNpy(join(dir, 'x.npy'), ta.ones([3]))).rejects.toThrow(/needs \{ client \}/);
  });
});
