// Parquet and Arrow IPC columns read and written by the workers, on the local engine and a real
// cluster. The oracles are independent implementations: files written by hyparquet-writer and
// apache-arrow's IPC writer are read by fromParquet / fromArrowIpc, and what toParquet writes
// (Arrow's Rust writer, through parquet-wasm) is read back by hyparquet. Debian has no pyarrow
// or fastparquet, so Python does not take part here.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-columnar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DTYPES = ['float64', 'float32', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool'] as const;

/** Values of every dtype that exercise its range (64-bit beyond 2^53, unsigned beyond the signed range). */
function values(dtype: (typeof DTYPES)[number], n: number, seed: number): (number | bigint | boolean)[] {
  return Array.from({ length: n }, (_, j) => {
    const i = j + seed;
    switch (dtype) {
      case 'float64': return Math.sin(i * 0.37) * 1e6;
      case 'float32': return Math.fround(Math.cos(i) * 100);
      case 'int64': return BigInt((i * 7919) % 1000 - 500) * 2n ** 41n + BigInt(i);
      case 'uint64': return 2n ** 63n + BigInt(i) * 2n ** 20n;
      case 'int32': return ((i * 7919) % 65536) * 32768 - 2 ** 30;
      case 'int16': return ((i * 7919) % 65536) - 32768;
      case 'int8': return ((i * 31) % 256) - 128;
      case 'uint32': return (i * 2654435761) % 2 ** 32;
      case 'uint16': return (i * 7919) % 65536;
      case 'uint8': return (i * 31) % 256;
      case 'bool': return (i * 7919) % 3 === 0;
    }
  });
}

const norm = (v: unknown): string => (typeof v === 'boolean' ? String(Number(v)) : String(v));
const got = (r: ta.NDArray): string[] => Array.from(r.data as ArrayLike<unknown>, norm);

describe.each(['local', 'cluster'] as const)('Parquet and Arrow IPC on the %s engine', (engine) => {
  const eng = engineClient(engine);
  const at = (name: string): string => join(dir, `${engine}-${name}`);

  it('toParquet writes every dtype as a dataset of part files (one per block, from the workers) that hyparquet reads; fromParquet reads it back', async () => {
    const n = 23;
    const cols: ta.Columns = {};
    for (const [k, d] of DTYPES.entries()) {
      // Columns chunked unlike each other: toParquet rechunks them to the first's blocks.
      cols[d] = ta.fromArray(typed(d, values(d, n, k)), { dtype: d, chunks: k % 2 ? 5 : 7 });
    }
    const out = at('all');
    const w = await ta.toParquet(cols, out, { client: eng.client, compression: 'zstd' });
    expect(w.files).toBe(4);
    expect(readdirSync(out).sort()).toEqual(['part.0.parquet', 'part.1.parquet', 'part.2.parquet', 'part.3.parquet']);
    // hyparquet, an independent reader, sees every part's rows in order.
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const file = await asyncBufferFromFile(join(out, `part.${i}.parquet`));
      rows.push(...(await parquetReadObjects({ file, compressors })));
    }
    for (const [k, d] of DTYPES.entries()) expect(rows.map((r) => norm(r[d])), d).toEqual(values(d, n, k).map(norm));
    const back = await ta.fromParquet(out);
    expect(Object.keys(back)).toEqual([...DTYPES]);
    for (const [k, d] of DTYPES.entries()) {
      expect([back[d]!.dtype, back[d]!.chunks], d).toEqual([d, [[7, 7, 7, 2]]]);
      expect(got(await eng.client.compute(back[d]!)), d).toEqual(values(d, n, k).map(norm));
    }
    await expect(ta.toParquet(cols, out, { client: eng.client })).rejects.toThrow(/holds \.parquet files already; \{ overwrite: true \} replaces them/);
    for (const compression of ['snappy', 'gzip', 'brotli', 'lz4', 'none'] as const) {
      await ta.toParquet({ x: cols.float64!, b: cols.bool! }, out, { client: eng.client, compression, overwrite: true });
      const file = await asyncBufferFromFile(join(out, 'part.0.parquet'));
      const meta = await parquetMetadataAsync(file);
      expect(meta.row_groups[0]!.columns[0]!.meta_data!.codec, compression).toBe(compression === 'none' ? 'UNCOMPRESSED' : compression === 'lz4' ? 'LZ4_RAW' : compression.toUpperCase());
      expect(got(await eng.client.compute((await ta.fromParquet(out, { columns: ['x'] })).x!))).toEqual(values('float64', n, 0).map(norm));
    }
  });

  it("reads hyparquet-writer's files: row groups as chunks, dictionary pages, float nulls as NaN, non-numeric columns left out", async () => {
    const n = 1000;
    const f64 = Float64Array.from({ length: n }, (_, i) => (i % 10) * 0.5);
    const i64 = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 2n ** 40n - 7n);
    const i32 = Int32Array.from({ length: n }, (_, i) => -i);
    const f32 = Float32Array.from({ length: n }, (_, i) => i / 8);
    const b = Array.from({ length: n }, (_, i) => i % 7 === 0);
    const withNull = Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : i * 1.5));
    const names = Array.from({ length: n }, (_, i) => `row ${i}`);
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'f64', data: f64, type: 'DOUBLE' },
        { name: 'i64', data: i64, type: 'INT64' },
        { name: 'i32', data: i32, type: 'INT32' },
        { name: 'f32', data: f32, type: 'FLOAT' },
        { name: 'b', data: b, type: 'BOOLEAN' },
        { name: 'maybe', data: withNull, type: 'DOUBLE', nullable: true },
        { name: 'name', data: names, type: 'STRING' },
      ],
      rowGroupSize: [300, 300, 300, 100],
    });
    const file = at('hyparquet.parquet');
    writeFileSync(file, new Uint8Array(buf));
    const cols = await ta.fromParquet(file);
    expect(Object.keys(cols)).toEqual(['f64', 'i64', 'i32', 'f32', 'b', 'maybe']);
    expect(cols.f64!.chunks).toEqual([[300, 300, 300, 100]]);
    expect(got(await eng.client.compute(cols.f64!))).toEqual(Array.from(f64, norm));
    expect(got(await eng.client.compute(cols.i64!))).toEqual(Array.from(i64, norm));
    expect(got(await eng.client.compute(cols.i32!))).toEqual(Array.from(i32, norm));
    expect(got(await eng.client.compute(cols.f32!))).toEqual(Array.from(f32, norm));
    expect(got(await eng.client.compute(cols.b!))).toEqual(b.map(norm));
    expect(got(await eng.client.compute(cols.maybe!))).toEqual(withNull.map((v) => (v === null ? 'NaN' : norm(v))));
    // nanmean skips the nulls, as pandas' mean of the column does.
    const real = withNull.filter((v): v is number => v !== null);
    expect(await eng.client.compute(ta.nanmean(cols.maybe!))).toBeCloseTo(real.reduce((a, v) => a + v, 0) / real.length, 9);
    await expect(ta.fromParquet(file, { columns: ['name'] })).rejects.toThrow(/column "name" is Utf8 \(not a numeric type\)/);
    await expect(ta.fromParquet(file, { columns: ['nope'] })).rejects.toThrow(/has no column "nope" \(it has f64, i64, i32, f32, b, maybe, name\)/);
  });

  it('reads Arrow IPC files: one chunk per record batch, every dtype, float nulls as NaN; an integer column with nulls fails its task naming it', async () => {
    const batches = [4, 0, 9, 3];
    const tables = batches.map((n, bi) => {
      const cols: Record<string, arrow.Vector> = {};
      for (const [k, d] of DTYPES.entries()) {
        const v = values(d, n, 100 * bi + k);
        cols[d] = arrow.vectorFromArray(v, arrowType(d));
      }
      cols.gaps = arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (i % 2 ? null : i + bi)), new arrow.Float64());
      cols.intGaps = arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (bi === 2 && i === 5 ? null : i)), new arrow.Int32());
      cols.label = arrow.vectorFromArray(Array.from({ length: n }, (_, i) => `x${i}`), new arrow.Utf8());
      return new arrow.Table(cols);
    });
    const path = at('t.arrow');
    writeFileSync(path, arrow.tableToIPC(new arrow.Table(tables.flatMap((t) => t.batches)), 'file'));
    const cols = await ta.fromArrowIpc(path);
    expect(Object.keys(cols)).toEqual([...DTYPES, 'gaps', 'intGaps']);
    for (const [k, d] of DTYPES.entries()) {
      expect([cols[d]!.dtype, cols[d]!.chunks], d).toEqual([d, [[4, 9, 3]]]);
      expect(got(await eng.client.compute(cols[d]!)), d).toEqual(batches.flatMap((n, bi) => values(d, n, 100 * bi + k).map(norm)));
    }
    expect(got(await eng.client.compute(cols.gaps!))).toEqual(batches.flatMap((n, bi) => Array.from({ length: n }, (_, i) => (i % 2 ? 'NaN' : String(i + bi)))));
    const err = await eng.client.compute(cols.intGaps!.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    expect((err as ta.TaskError).message).toMatch(/t\.arrow record batch 2 column "intGaps": 1 nulls in a int32 column/);
    writeFileSync(at('stream.arrow'), arrow.tableToIPC(tables[0]!, 'stream'));
    await expect(ta.fromArrowIpc(at('stream.arrow'))).rejects.toThrow(/is not an Arrow IPC file: no ARROW1 magic .* \(an IPC stream, not a file\?\)/);
  });

  it('bad input: missing paths, files of another format, bad options: typed errors that name them; a part gone from the worker fails the task naming it and the worker', async () => {
    await expect(ta.fromParquet(at('nope.parquet'))).rejects.toBeInstanceOf(ta.NotFoundError);
    await expect(ta.fromArrowIpc(at('nope.arrow'))).rejects.toBeInstanceOf(ta.NotFoundError);
    mkdirSync(at('empty-dir'), { recursive: true });
    await expect(ta.fromParquet(at('empty-dir'))).rejects.toThrow(/is a directory with no \.parquet files/);
    writeFileSync(at('junk.parquet'), 'this is not a parquet file');
    await expect(ta.fromParquet(at('junk.parquet'))).rejects.toBeInstanceOf(ta.FileFormatError);
    await expect(ta.fromParquet(at('junk.parquet'), { columns: [] })).rejects.toBeInstanceOf(ta.InvalidArgumentError);
    const x = ta.arange(10, { chunks: 4 });
    await expect(ta.toParquet({ x, y: ta.arange(11) }, at('bad'), { client: eng.client })).rejects.toBeInstanceOf(ta.ShapeError);
    await expect(ta.toParquet({ x: x.reshape([2, 5]) }, at('bad'), { client: eng.client })).rejects.toBeInstanceOf(ta.ShapeError);
    await expect(ta.toParquet({ x }, at('bad'), { client: eng.client, compression: 'lzo' as never })).rejects.toThrow(/compression "lzo" is not one of snappy, zstd, gzip, brotli, lz4, none/);
    await expect(ta.toParquet({}, at('bad'), { client: eng.client })).rejects.toBeInstanceOf(ta.InvalidArgumentError);
    await ta.toParquet({ x }, at('gone'), { client: eng.client });
    const back = await ta.fromParquet(at('gone'));
    rmSync(join(at('gone'), 'part.1.parquet'));
    const err = await eng.client.compute(back.x!.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    const te = err as ta.TaskError;
    expect(te.message).toContain(`cannot open ${join(at('gone'), 'part.1.parquet')}`);
    if (eng.cluster) expect(eng.cluster.workers.map((w) => w.id)).toContain(te.worker);
    else expect(te.worker).toBe('local');
  });
});

function typed(d: (typeof DTYPES)[number], v: (number | bigint | boolean)[]): ta.ChunkData {
  if (d === 'int64') return BigInt64Array.from(v as bigint[]);
  if (d === 'uint64') return BigUint64Array.from(v as bigint[]);
  if (d === 'bool') return Uint8Array.from(v as boolean[], Number);
  const ctor = { float64: Float64Array, float32: Float32Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array }[d];
  return ctor.from(v as number[]);
}

function arrowType(d: (typeof DTYPES)[number]): arrow.DataType {
  return {
    float64: new arrow.Float64(), float32: new arrow.Float32(), int64: new arrow.Int64(), int32: new arrow.Int32(), int16: new arrow.Int16(), int8: new arrow.Int8(),
    uint64: new arrow.Uint64(), uint32: new arrow.Uint32(), uint16: new arrow.Uint16(), uint8: new arrow.Uint8(), bool: new arrow.Bool(),
  }[d];
}
