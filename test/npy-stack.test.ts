// Dask's npy stacks (da.to_npy_stack) read by the workers themselves: the client reads only the
// headers; each task opens its own block file. On the local engine and a real cluster.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-npystack-'));
const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', cwd: dir });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['local', 'cluster'] as const)('npy stacks on the %s engine', (engine) => {
  const eng = engineClient(engine);
  let client: ta.Client;
  beforeAll(() => {
    client = eng.client;
  });

  it("reads what Dask's to_npy_stack wrote, along axis 0 and 1, and computes on it as numpy does", async () => {
    const out = JSON.parse(
      py(`
import numpy as np, dask.array as da, json
a = (np.arange(13 * 6 * 5, dtype=np.int32).reshape(13, 6, 5) * 7919) % 1000 - 500
da.to_npy_stack('${engine}-s0', da.from_array(a, chunks=(4, 6, 5)), axis=0)
b = np.sin(np.arange(8 * 11.0)).reshape(8, 11).astype(np.float32)
da.to_npy_stack('${engine}-s1', da.from_array(b, chunks=(8, 3)), axis=1)
print(json.dumps([a.sum(axis=(1, 2)).tolist(), a.ravel().tolist(), float(np.abs(b).mean(axis=0).astype(np.float64).sum())]))
`),
    ) as [number[], number[], number];
    const s0 = await ta.fromNpyStack(join(dir, `${engine}-s0`));
    expect([s0.dtype, s0.shape, s0.chunks]).toEqual(['int32', [13, 6, 5], [[4, 4, 4, 1], [6], [5]]]);
    expect(Array.from((await client.compute(s0)).data, Number)).toEqual(out[1]);
    expect(Array.from((await client.compute(s0.sum({ axis: [1, 2] }))).data, Number)).toEqual(out[0]);
    // Dask's info says axis 1: read from it, and a contradicting axis is refused.
    const s1 = await ta.fromNpyStack(join(dir, `${engine}-s1`));
    await expect(ta.fromNpyStack(join(dir, `${engine}-s1`), { axis: 0 })).rejects.toThrow(/stacks along axis 1, not 0/);
    expect([s1.dtype, s1.shape, s1.chunks]).toEqual(['float32', [8, 11], [[8], [3, 3, 3, 2]]]);
    expect(await client.compute(s1.abs().mean({ axis: 0 }).astype('float64').sum())).toBeCloseTo(out[2], 5);
  });

  it("toNpyStack: each block written by its worker, Dask's info last; da.from_npy_stack and fromNpyStack read it back", async () => {
    for (const [dtype, axis] of [['float64', 0], ['int64', 1], ['bool', 0], ['uint16', 1]] as const) {
      const x = ta.arange(0, 9 * 14, 1, { chunks: 40 }).mul(31).remainder(17).reshape([9, 14]).rechunk([4, 5]).astype(dtype);
      const path = join(dir, `${engine}-out-${dtype}`);
      await ta.toNpyStack(path, x, { axis, client });
      const want = Array.from((await client.compute(x)).data as ArrayLike<number | bigint>, Number);
      const theirs = JSON.parse(
        py(`import dask.array as da, json; a = da.from_npy_stack('${path}'); print(json.dumps([str(a.dtype), list(a.shape), [list(c) for c in a.chunks], [float(v) for v in a.compute().ravel().tolist()]]))`),
      );
      const chunks = axis === 0 ? [[4, 4, 1], [14]] : [[9], [5, 5, 4]];
      expect(theirs).toEqual([dtype, [9, 14], chunks, want]);
      const back = await ta.fromNpyStack(path);
      expect([back.dtype, back.chunks]).toEqual([dtype, chunks]);
      expect(Array.from((await client.compute(back)).data as ArrayLike<number | bigint>, Number)).toEqual(want);
    }
    await expect(ta.toNpyStack(join(dir, 'x'), ta.ones([2]), { axis: 1, client })).rejects.toThrow(/axis 1 is not an axis of a 1-d array/);
  });

  it('a block file gone by the time a task reads it fails that task with a TaskError naming the file; bad stacks are typed errors', async () => {
    py(`import numpy as np; import os; os.makedirs('${engine}-gone', exist_ok=True); [np.save(f'${engine}-gone/{i}.npy', np.ones((2, 3)) * i) for i in range(3)]`);
    const x = await ta.fromNpyStack(join(dir, `${engine}-gone`));
    unlinkSync(join(dir, `${engine}-gone`, '1.npy'));
    const err = await client.compute(x.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    expect(String((err as Error).message)).toMatch(new RegExp(`cannot open .*${engine}-gone/1\\.npy`));
    // The engine is still usable.
    expect(await client.compute(ta.ones([3]).sum())).toBe(3);
    await expect(ta.fromNpyStack(join(dir, 'nothing-here'))).rejects.toThrow(ta.NotFoundError);
    py(`import numpy as np; import os; os.makedirs('${engine}-odd', exist_ok=True); np.save('${engine}-odd/0.npy', np.ones((2, 3))); np.save('${engine}-odd/1.npy', np.ones((2, 4)))`);
    await expect(ta.fromNpyStack(join(dir, `${engine}-odd`))).rejects.toThrow(/1\.npy is float64\(2, 4\), the first block float64\(2, 3\): blocks must differ only along axis 0/);
    py(`import os; os.makedirs('${engine}-hole', exist_ok=True); import numpy as np; np.save('${engine}-hole/0.npy', np.ones(2)); np.save('${engine}-hole/2.npy', np.ones(2))`);
    await expect(ta.fromNpyStack(join(dir, `${engine}-hole`))).rejects.toThrow(/has 2\.npy but no 1\.npy/);
    writeFileSync(join(dir, `${engine}-hole`, '1.npy'), 'junk');
    await expect(ta.fromNpyStack(join(dir, `${engine}-hole`))).rejects.toThrow(ta.FileFormatError);
  });
});
