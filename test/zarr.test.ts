// Zarr stores read and written by the workers, checked against Python's zarr (v2) and numcodecs
// (v3 chunks decoded by the spec), on the local engine and a real cluster: every dtype both
// sides have, Tessera chunks that do not match the store's, each compressor, Fortran order and
// big-endian stores, regions, groups, overwrites, HTTP stores, and failures that name the path.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient, type TestCluster } from './cluster.test-util.js';
import { serveFolder, type Served } from './http-folder.test-util.js';
import { PY_VALUES, dump } from './numpy-values.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-zarr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// PY_VALUES' make() and dump(), and zarr's codecs and a v3 reader by the spec.
const PY_HEAD = `${PY_VALUES}
import zarr, numcodecs, os
def codec(name):
    return {'zstd': numcodecs.Zstd(level=1), 'gzip': numcodecs.GZip(level=5), 'blosc': numcodecs.Blosc(), 'none': None}[name]
def read_v3(path):
    m = json.load(open(os.path.join(path, 'zarr.json')))
    assert m['zarr_format'] == 3 and m['node_type'] == 'array' and m['chunk_key_encoding']['name'] == 'default'
    shape, cs = m['shape'], m['chunk_grid']['configuration']['chunk_shape']
    dt = np.dtype(m['data_type'])
    first, rest = m['codecs'][0], m['codecs'][1:]
    assert first['name'] == 'bytes'
    out = np.full(shape, m['fill_value'], dtype=dt)
    for idx in np.ndindex(*[-(-s // c) for s, c in zip(shape, cs)]):
        f = os.path.join(path, 'c', *map(str, idx))
        if not os.path.exists(f): continue
        b = open(f, 'rb').read()
        for c in reversed(rest): b = codec(c['name']).decode(b)
        block = np.frombuffer(b, dtype=dt.newbyteorder('<' if first['configuration']['endian'] == 'little' else '>')).reshape(cs)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, cs, shape))
        out[sl] = block[tuple(slice(0, x.stop - x.start) for x in sl)]
    return out
`;
const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', PY_HEAD + code], { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 28 });


// [dtype, shape, store chunks, Tessera chunks, compressor, order, byte order]
type Case = [string, number[], number[], number[] | undefined, string, 'C' | 'F', '<' | '>'];
const CASES: Case[] = [
  ['float64', [13, 7], [5, 3], [4, 4], 'zstd', 'C', '<'],
  ['float32', [9, 10, 3], [4, 3, 2], [9, 4, 3], 'blosc', 'F', '<'],
  ['int64', [37], [10], [7], 'gzip', 'C', '>'],
  ['int32', [6, 5], [6, 5], [2, 2], 'none', 'C', '<'],
  ['int16', [11, 4], [3, 3], undefined, 'zstd', 'F', '>'],
  ['int8', [17], [4], [5], 'blosc', 'C', '<'],
  ['uint64', [5, 6], [2, 4], [3, 3], 'zstd', 'C', '<'],
  ['uint32', [8, 3], [3, 2], [8, 1], 'gzip', 'C', '>'],
  ['uint16', [10], [3], [10], 'none', 'C', '<'],
  ['uint8', [4, 9], [4, 4], [1, 9], 'zstd', 'C', '<'],
  ['bool', [7, 6], [2, 5], [3, 4], 'zstd', 'C', '<'],
  ['float64', [], [], undefined, 'zstd', 'C', '<'],
  ['int32', [0, 4], [2, 2], undefined, 'zstd', 'C', '<'],
];

describe.each(['local', 'cluster'] as const)('Zarr on the %s engine', (engine) => {
  // The cluster's workers decode zstd with numcodecs' WebAssembly (the fall back where libzstd
  // was not built); the local engine with libzstd: the same checks hold for both.
  const eng = engineClient(engine, engine === 'cluster' ? { env: { TESSERA_ZSTD: '0' } } : {});
  let client: ta.Client;
  let cluster: TestCluster | undefined;
  let http: Served;
  const at = (name: string): string => join(dir, `${engine}-${name}`);
  beforeAll(async () => {
    ({ client, cluster } = eng);
    http = await serveFolder(dir);
  });
  afterAll(() => http?.close());

  it("reads zarr-python's v2 arrays of every dtype (odd chunkings, each compressor, Fortran order, big-endian) as numpy does", async () => {
    const want = JSON.parse(
      py(`
cases = ${JSON.stringify(CASES)}
out = []
for k, (dt, shape, chunks, _, comp, order, bo) in enumerate(cases):
    a = make(dt, shape, k)
    z = zarr.open('${engine}-r%d.zarr' % k, mode='w', shape=shape, chunks=chunks, dtype=np.dtype(dt).newbyteorder(bo), compressor=codec(comp), order=order)
    z[...] = a
    out.append(dump(a))
print(json.dumps(out))
`),
    ) as (number | string)[][];
    for (const [k, [dtype, shape, chunks, mine]] of CASES.entries()) {
      const x = await ta.fromZarr(at(`r${k}.zarr`), mine ? { chunks: mine } : {});
      expect([x.dtype, x.shape], `case ${k}`).toEqual([dtype, shape]);
      if (!mine && shape.every((d) => d > 0)) expect(x.chunks.map((c) => c[0]), `case ${k}: the store's chunks by default`).toEqual(chunks.map((c, i) => Math.min(c, shape[i]!)));
      expect(dump(await client.compute(x)), `case ${k} (${dtype} ${CASES[k]![4]} ${CASES[k]![5]} ${CASES[k]![6]})`).toEqual(want[k]);
    }
  });

  it('writes every dtype as v2 (zarr-python reads it) and v3 (decoded chunk by chunk by the spec), store chunks unlike the blocks', async () => {
    const comps = ['zstd', 'gzip', 'blosc', 'none'] as const;
    const written: [number, string, number][] = [];
    for (const [k, [dtype, shape, , mine]] of CASES.entries()) {
      if (shape.length === 0) continue;
      const x = await ta.fromZarr(at(`r${k}.zarr`), mine ? { chunks: mine } : {});
      const format = k % 2 === 0 ? 2 : 3;
      const compressor = comps[k % comps.length]!;
      await ta.toZarr(x, at(`w${k}.zarr`), { client, chunks: shape.map((d) => Math.max(1, Math.ceil(d / 3))), compressor, zarrFormat: format });
      written.push([k, dtype, format]);
    }
    const ok = JSON.parse(
      py(`
out = []
for k, dt, fmt in ${JSON.stringify(written)}:
    case = ${JSON.stringify(CASES)}[k]
    path = '${engine}-w%d.zarr' % k
    got = zarr.open(path, mode='r')[...] if fmt == 2 else read_v3(path)
    out.append([k, str(got.dtype) == dt and list(got.shape) == case[1] and np.array_equal(got, make(dt, case[1], k))])
print(json.dumps(out))
`),
    ) as [number, boolean][];
    expect(ok).toEqual(written.map(([k]) => [k, true]));
  });

  it('reads v3 arrays written by the spec (numcodecs chunks, either byte order), and a v2 array inside a group', async () => {
    const want = JSON.parse(
      py(`
def write_v3(path, a, cs, comp, endian):
    os.makedirs(path, exist_ok=True)
    codecs = [{'name': 'bytes', 'configuration': {'endian': endian}}] + ([] if comp == 'none' else [{'name': comp, 'configuration': {'level': 1} if comp != 'blosc' else {'cname': 'lz4', 'clevel': 5, 'shuffle': 'shuffle', 'typesize': a.dtype.itemsize, 'blocksize': 0}}])
    json.dump({'zarr_format': 3, 'node_type': 'array', 'shape': list(a.shape), 'data_type': str(a.dtype), 'chunk_grid': {'name': 'regular', 'configuration': {'chunk_shape': cs}}, 'chunk_key_encoding': {'name': 'default', 'configuration': {'separator': '/'}}, 'fill_value': 0, 'codecs': codecs, 'attributes': {}}, open(os.path.join(path, 'zarr.json'), 'w'))
    for idx in np.ndindex(*[-(-s // c) for s, c in zip(a.shape, cs)]):
        if idx == (1, 1): continue  # a missing chunk reads as the fill value
        block = np.zeros(cs, dtype=a.dtype)
        part = a[tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, cs))]
        block[tuple(slice(0, n) for n in part.shape)] = part
        b = block.astype(a.dtype.newbyteorder('<' if endian == 'little' else '>')).tobytes()
        if comp != 'none': b = codec(comp).encode(b)
        f = os.path.join(path, 'c', *map(str, idx)); os.makedirs(os.path.dirname(f), exist_ok=True); open(f, 'wb').write(bytes(b))
a = make('float32', (10, 7), 1); b = make('int32', (9, 8), 2)
write_v3('${engine}-v3a.zarr', a, [4, 3], 'zstd', 'little')
write_v3('${engine}-v3b.zarr', b, [4, 4], 'gzip', 'big')
a2 = a.copy(); a2[4:8, 3:6] = 0; b2 = b.copy(); b2[4:8, 4:8] = 0
g = zarr.open_group('${engine}-grp.zarr', mode='w'); g.create_group('sub').array('x', make('uint16', (12, 5), 3), chunks=(5, 2))
print(json.dumps([dump(a2), dump(b2), dump(make('uint16', (12, 5), 3))]))
`),
    ) as number[][];
    const a = await ta.fromZarr(at('v3a.zarr'), { chunks: [3, 7] });
    expect([a.dtype, a.shape]).toEqual(['float32', [10, 7]]);
    expect(dump(await client.compute(a))).toEqual(want[0]);
    const b = await ta.fromZarr(at('v3b.zarr'));
    expect(dump(await client.compute(b))).toEqual(want[1]);
    const g = await ta.fromZarr(at('grp.zarr'), { path: 'sub/x', chunks: [4, 5] });
    expect(dump(await client.compute(g))).toEqual(want[2]);
    expect(dump(await client.compute(g.astype('float64').sum()))).toEqual([want[2]!.reduce((s, v) => s + v, 0)]);
  });

  it('toZarr into a group path writes the groups above; an existing array is refused unless overwrite, which removes its old chunks', async () => {
    const x = ta.arange(24, { chunks: 5 }).reshape([4, 6]);
    await ta.toZarr(x, at('tree.zarr'), { client, path: 'exp/run1/x', chunks: [3, 4] });
    await expect(ta.toZarr(x, at('tree.zarr'), { client, path: 'exp/run1/x' })).rejects.toThrow(/holds an array already; \{ overwrite: true \} replaces it/);
    const y = ta.arange(6, { chunks: 4 }).mul(10);
    await ta.toZarr(y, at('tree.zarr'), { client, path: 'exp/run1/x', overwrite: true, chunks: [4] });
    expect(
      JSON.parse(
        py(`
g = zarr.open_group('${engine}-tree.zarr', mode='r')
z = g['exp/run1/x']
print(json.dumps([list(z.shape), dump(z[...]), sorted(os.listdir('${engine}-tree.zarr/exp/run1/x'))]))
`),
      ),
    ).toEqual([[6], ['0', '10', '20', '30', '40', '50'], ['.zarray', '0', '1']]);
  });

  it('client.store writes sources into regions of existing arrays in one graph (misaligned blocks rechunked; the rest of each array kept)', async () => {
    py(`
z = zarr.open('${engine}-reg.zarr', mode='w', shape=(20, 9), chunks=(4, 3), dtype='i4', fill_value=-1, compressor=codec('zstd'))
z[...] = -1
`);
    const target = await ta.openZarr(at('reg.zarr'));
    const second = await ta.createZarr(at('made.zarr'), { shape: [7], dtype: 'float64', chunks: [3], compressor: 'gzip' });
    const x = ta.arange(50, { chunks: 7 }).astype('int32').reshape([10, 5]).rechunk([3, 2]);
    const v = ta.linspace(0, 1, 4, { chunks: 3 });
    await client.store([x, v], [target, second], { regions: [[[5, 15], [2, 7]], [[2, 6]]] });
    const got = JSON.parse(
      py(`
z = zarr.open('${engine}-reg.zarr', mode='r')[...]
want = np.full((20, 9), -1, dtype='i4'); want[5:15, 2:7] = np.arange(50).reshape(10, 5)
w = zarr.open('${engine}-made.zarr', mode='r')[...]
print(json.dumps([bool(np.array_equal(z, want)), w.tolist()]))
`),
    ) as [boolean, number[]];
    expect(got).toEqual([true, [0, 0, 0, 1 / 3, 2 / 3, 1, 0]]);
    await expect(client.store(x, target, { regions: [[[0, 10], [0, 4]]] })).rejects.toThrow(/shape \(10, 5\) into a region of shape \(10, 4\)/);
    await expect(client.store(x.astype('float64'), target)).rejects.toThrow(/a float64 array into the int32 Zarr array/);
  });

  it('reads a store over HTTP on the workers; HTTP stores cannot be written', async () => {
    const url = `${http.url}/${engine}-r0.zarr`;
    const x = await ta.fromZarr(url, { chunks: [7, 7] });
    const local = await ta.fromZarr(at('r0.zarr'));
    expect(dump(await client.compute(x))).toEqual(dump(await client.compute(local)));
    expect(http.requests().some((p) => p.endsWith('/0.0'))).toBe(true);
    await expect(ta.toZarr(x, `${http.url}/out.zarr`, { client })).rejects.toThrow(/cannot be written/);
    await expect(ta.fromZarr(`${http.url}/nothing.zarr`)).rejects.toBeInstanceOf(ta.NotFoundError);
    await expect(ta.fromZarr('s3://bucket/a.zarr')).rejects.toThrow(/no store for s3:\/\/ URLs .* registerZarrStore\('s3'/);
  });

  it('a chunk a worker cannot read fails its task with a typed error naming the path and the worker; a missing array is NotFound', async () => {
    await expect(ta.fromZarr(at('none.zarr'))).rejects.toThrow(/no Zarr array at \/ in .*none\.zarr/);
    py(`z = zarr.open('${engine}-bad.zarr', mode='w', shape=(6, 6), chunks=(3, 3), dtype='f8'); z[...] = 1`);
    rmSync(at('bad.zarr/1.0'));
    mkdirSync(at('bad.zarr/1.0'));
    const x = await ta.fromZarr(at('bad.zarr'));
    const err = await client.compute(x.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    const te = err as ta.TaskError;
    expect(te.message).toMatch(new RegExp(`${engine}-bad\\.zarr/1\\.0`));
    if (cluster) expect(cluster.workers.map((w) => w.id)).toContain(te.worker);
    else expect(te.worker).toBe('local');
    expect(te.message).toContain(`on worker ${te.worker}`);
  });

  it('a write that fails half way leaves no metadata (chunks first, metadata last); the next write succeeds', async () => {
    const path = at('half.zarr');
    mkdirSync(join(path, '1.1', 'in-the-way'), { recursive: true });
    const x = ta.ones([6, 6], { chunks: 3 });
    await expect(ta.toZarr(x, path, { client, chunks: [3, 3] })).rejects.toBeInstanceOf(ta.TaskError);
    expect(existsSync(join(path, '.zarray')), 'metadata').toBe(false);
    // The other blocks' writes may still be landing: each leaves its chunk, never a temporary file.
    for (let i = 0; i < 100 && readdirSync(path).some((f) => f.endsWith('.tmp')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(path).filter((f) => f.endsWith('.tmp')), 'temporary files').toEqual([]);
    rmSync(join(path, '1.1'), { recursive: true });
    await ta.toZarr(x, path, { client, chunks: [3, 3] });
    expect(py(`print(float(zarr.open('${engine}-half.zarr', mode='r')[...].sum()))`).trim()).toBe('36.0');
  });
});

describe('Zarr arguments', () => {
  it('names what is wrong with a compressor, a region, chunks and a format', async () => {
    const x = ta.ones([4], { chunks: 2 });
    const c = { compute: async () => undefined };
    await expect(ta.toZarr(x, join(dir, 'args.zarr'), { client: c, compressor: 'lz77' as never })).rejects.toThrow(/compressor "lz77" is not zstd, gzip, blosc or none/);
    await expect(ta.toZarr(x, join(dir, 'args.zarr'), { client: c, compressor: { id: 'zstd', level: 99 } })).rejects.toThrow(/zstd level 99/);
    await expect(ta.toZarr(x, join(dir, 'args.zarr'), { client: c, chunks: [0] })).rejects.toThrow(/chunks \[0\] is not a positive whole number/);
    await expect(ta.toZarr(x, join(dir, 'args.zarr'), { client: c, zarrFormat: 4 as never })).rejects.toThrow(/zarrFormat 4 is not 2 or 3/);
    await expect(ta.fromZarr(join(dir, 'args.zarr'), { path: '../etc' })).rejects.toThrow(/may not hold \. or \.\./);
    mkdirSync(join(dir, 'f16.zarr'));
    writeFileSync(join(dir, 'f16.zarr', '.zarray'), JSON.stringify({ zarr_format: 2, shape: [4], chunks: [2], dtype: '<f2', compressor: null, fill_value: 0, order: 'C', filters: null }));
    const f16 = await ta.fromZarr(join(dir, 'f16.zarr')).catch((e: unknown) => e);
    expect(f16).toBeInstanceOf(ta.FileFormatError);
    expect((f16 as Error).message).toMatch(/f16\.zarr.* is not a Zarr v2 array Tessera can open: .*float16, which Tessera lacks .*cast it to float32/);
  });
});
