// HDF5 and NetCDF4 datasets read by the workers, checked against what h5py and netCDF4 wrote, on
// the local engine and a real cluster: every dtype both sides have, chunked (gzip, shuffle,
// fletcher32) and contiguous datasets, Tessera chunks unlike the file's, groups, a 0-d dataset,
// and failures that name the file and the worker.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';
import { PY_VALUES, dump } from './numpy-values.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-hdf5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PY_HEAD = `${PY_VALUES}
import h5py
`;
const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', PY_HEAD + code], { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 28 });

// [dtype, shape, file chunks (null: contiguous), Tessera chunks, filters, byte order]
type Case = [string, number[], number[] | null, number[] | undefined, 'gzip' | 'shuffle-gzip' | 'fletcher32' | 'none', '<' | '>'];
const CASES: Case[] = [
  ['float64', [13, 7], [5, 3], [4, 4], 'shuffle-gzip', '<'],
  ['float32', [9, 10, 3], [4, 3, 2], undefined, 'gzip', '>'],
  ['int64', [37], [10], [7], 'fletcher32', '<'],
  ['int32', [6, 5], null, [2, 2], 'none', '>'],
  ['int16', [11, 4], [3, 3], undefined, 'shuffle-gzip', '<'],
  ['int8', [17], [4], [5], 'none', '<'],
  ['uint64', [5, 6], [2, 4], [3, 3], 'gzip', '>'],
  ['uint32', [8, 3], [3, 2], [8, 1], 'none', '<'],
  ['uint16', [10], null, undefined, 'none', '<'],
  ['uint8', [4, 9], [4, 4], [1, 9], 'gzip', '<'],
  ['bool', [7, 6], [2, 5], [3, 4], 'gzip', '<'],
  ['int32', [0, 4], [1, 2], undefined, 'none', '<'],
];

describe.each(['local', 'cluster'] as const)('HDF5 on the %s engine', (engine) => {
  const eng = engineClient(engine);
  const file = join(dir, `${engine}.h5`);

  it("reads h5py's datasets of every dtype (chunked with each filter, contiguous, big-endian) as numpy does", async () => {
    const want = JSON.parse(
      py(`
cases = ${JSON.stringify(CASES)}
out = []
with h5py.File('${file}', 'w') as f:
    for k, (dt, shape, chunks, _, filt, bo) in enumerate(cases):
        a = make(dt, shape, k)
        kw = {}
        if chunks: kw['chunks'] = tuple(chunks)
        if 0 in shape: kw['maxshape'] = (None,) + tuple(shape[1:])
        if filt in ('gzip', 'shuffle-gzip'): kw['compression'] = 'gzip'
        if filt == 'shuffle-gzip': kw['shuffle'] = True
        if filt == 'fletcher32': kw['fletcher32'] = True
        f.create_dataset('g/sub/d%d' % k, data=a if dt == 'bool' else a.astype(np.dtype(dt).newbyteorder(bo)), **kw)
        out.append(dump(a))
    f.create_dataset('scalar', data=np.float64(2.5))
print(json.dumps(out))
`),
    ) as (number | string)[][];
    for (const [k, [dtype, shape, chunks, mine]] of CASES.entries()) {
      const x = await ta.fromHdf5(file, { dataset: `/g/sub/d${k}`, ...(mine ? { chunks: mine } : {}) });
      expect([x.dtype, x.shape], `case ${k}`).toEqual([dtype, shape]);
      // By default a block is whole file chunks (these small datasets: the whole axis).
      if (!mine && chunks && shape.every((d) => d > 0)) expect(x.chunks, `case ${k}`).toEqual(shape.map((d) => [d]));
      expect(dump(await eng.client.compute(x)), `case ${k} (${dtype} ${CASES[k]![4]} ${CASES[k]![5]})`).toEqual(want[k]);
    }
    const s = await ta.fromHdf5(file, { dataset: 'scalar' });
    expect([s.shape, await eng.client.compute(s)]).toEqual([[], 2.5]);
  });

  it('a big chunked dataset is read in blocks of whole file chunks, and reduces as numpy does', async () => {
    const want = JSON.parse(
      py(`
a = make('float64', (3000, 700), 5)
with h5py.File('${engine}-big.h5', 'w') as f:
    f.create_dataset('x', data=a, chunks=(250, 128), compression='gzip', shuffle=True)
print(json.dumps([float(a.sum()), a.mean(axis=0)[:5].tolist()]))
`),
    ) as [number, number[]];
    const ref = await ta.openHdf5(join(dir, `${engine}-big.h5`), { dataset: 'x' });
    expect([ref.chunks, ref.filters]).toEqual([[250, 128], ['shuffle', 'deflate']]);
    // 16 MiB: the file's chunks doubled up to the whole array, as Dask's auto chunks would give.
    expect((await ta.fromHdf5(ref)).chunks).toEqual([[3000], [700]]);
    const x = await ta.fromHdf5(ref, { chunks: [1000, 700] });
    expect(x.chunks).toEqual([[1000, 1000, 1000], [700]]);
    const [sum, mean] = await eng.client.compute([x.sum(), x.mean({ axis: 0 })]);
    expect(sum).toBeCloseTo(want[0], 6);
    expect(Array.from((mean as ta.NDArray).data as Float64Array).slice(0, 5).map((v, i) => v - want[1][i]!).every((d) => Math.abs(d) < 1e-9)).toBe(true);
  });

  it("reads a NetCDF4 file's variables (netCDF4-python, zlib, unlimited dimension)", async () => {
    const want = JSON.parse(
      py(`
import netCDF4
ds = netCDF4.Dataset('${engine}.nc', 'w')
ds.createDimension('time', None); ds.createDimension('lat', 9); ds.createDimension('lon', 14)
v = ds.createVariable('temp', 'f4', ('time', 'lat', 'lon'), zlib=True, chunksizes=(2, 5, 7))
v.set_auto_maskandscale(False)
a = make('float32', (5, 9, 14), 3)
v[:] = a
c = ds.createVariable('count', 'i8', ('lat',)); c[:] = make('int64', (9,), 4)
ds.close()
print(json.dumps([dump(a), dump(make('int64', (9,), 4))]))
`),
    ) as (number | string)[][];
    const t = await ta.fromNetcdf(join(dir, `${engine}.nc`), { variable: 'temp', chunks: [2, 4, 14] });
    expect([t.dtype, t.shape]).toEqual(['float32', [5, 9, 14]]);
    expect(dump(await eng.client.compute(t))).toEqual(want[0]);
    const c = await ta.fromNetcdf(join(dir, `${engine}.nc`), { variable: 'count' });
    expect(dump(await eng.client.compute(c))).toEqual(want[1]);
  });

  it('bad input: a missing file or dataset, a group, a string dataset, not HDF5: typed errors naming them; a file gone from the worker fails the task naming it and the worker', async () => {
    py(`
with h5py.File('${engine}-bad.h5', 'w') as f:
    f.create_dataset('s', data=np.array([b'a', b'b'])); f.create_group('grp'); f.create_dataset('f16', data=np.ones(3, 'f2'))
    f.create_dataset('x', data=np.arange(12.0), chunks=(4,))
`);
    const bad = join(dir, `${engine}-bad.h5`);
    await expect(ta.fromHdf5(join(dir, 'nope.h5'), { dataset: 'x' })).rejects.toBeInstanceOf(ta.NotFoundError);
    await expect(ta.fromHdf5(bad, { dataset: 'y' })).rejects.toThrow(/has no dataset \/y \(the root holds f16, grp, s, x\)/);
    await expect(ta.fromHdf5(bad, { dataset: 'grp' })).rejects.toThrow(/\/grp in .* is a Group, not a dataset/);
    await expect(ta.fromHdf5(bad, { dataset: 's' })).rejects.toThrow(/holds string of 1 bytes/);
    await expect(ta.fromHdf5(bad, { dataset: 'f16' })).rejects.toThrow(/float16, which Tessera lacks .*cast it to float32/);
    await expect(ta.fromHdf5(bad, {})).rejects.toBeInstanceOf(ta.InvalidArgumentError);
    writeFileSync(join(dir, `${engine}-not.h5`), 'not hdf5 at all, but long enough to hold a signature');
    await expect(ta.fromHdf5(join(dir, `${engine}-not.h5`), { dataset: 'x' })).rejects.toThrow(/is not an HDF5 \(or NetCDF4\) file/);
    // A chunk whose bytes were overwritten fails its read (never values from uninitialised memory).
    py(`
with h5py.File('${engine}-corrupt.h5', 'w') as f: f.create_dataset('x', data=make('float64', (400, 400)), chunks=(100, 100), compression='gzip')
b = bytearray(open('${engine}-corrupt.h5', 'rb').read()); b[len(b) // 2:len(b) // 2 + 4000] = bytes(4000); open('${engine}-corrupt.h5', 'wb').write(b)
`);
    const corrupt = await ta.fromHdf5(join(dir, `${engine}-corrupt.h5`), { dataset: 'x' });
    await expect(eng.client.compute(corrupt.sum())).rejects.toThrow(/HDF5 could not read \/x \[0:400, 0:400\] in .*corrupt\.h5/);
    const x = await ta.fromHdf5(bad, { dataset: 'x' });
    rmSync(bad);
    const err = await eng.client.compute(x.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    const te = err as ta.TaskError;
    expect(te.message).toContain(`cannot open ${bad}`);
    if (eng.cluster) expect(eng.cluster.workers.map((w) => w.id)).toContain(te.worker);
    else expect(te.worker).toBe('local');
  });
});
