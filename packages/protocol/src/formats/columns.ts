import * as arrow from 'apache-arrow';
import { NO_FLOAT16, type ChunkData, type Dtype } from '../dtype.js';
import { FileFormatError } from '../errors.js';

/**
 * Numeric Arrow columns as Tessera chunks and back: what Parquet (through parquet-wasm, which
 * decodes into Arrow) and Arrow IPC files share.
 */

/** The Tessera dtype of an Arrow type, or a description of why there is none. */
export function arrowDtype(t: arrow.DataType): Dtype | string {
  if (arrow.DataType.isFloat(t)) {
    if (t.precision === arrow.Precision.DOUBLE) return 'float64';
    if (t.precision === arrow.Precision.SINGLE) return 'float32';
    return NO_FLOAT16;
  }
  if (arrow.DataType.isInt(t)) return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as Dtype;
  if (arrow.DataType.isBool(t)) return 'bool';
  return `${String(t)} (not a numeric type)`;
}

export function isDtypeName(d: string): d is Dtype {
  return /^(float(32|64)|u?int(8|16|32|64)|bool)$/.test(d);
}

/** The numeric columns of a schema: `columns` (each must be there and numeric), or all numeric ones. */
export function numericColumns(fields: readonly arrow.Field[], columns: readonly string[] | undefined, where: string): { name: string; dtype: Dtype }[] {
  if (columns === undefined) {
    return fields.flatMap((f) => {
      const d = arrowDtype(f.type);
      return isDtypeName(d) ? [{ name: f.name, dtype: d }] : [];
    });
  }
  return columns.map((name) => {
    const f = fields.find((x) => x.name === name);
    if (!f) throw new FileFormatError(`${where} has no column "${name}" (it has ${fields.map((x) => x.name).join(', ') || 'none'})`);
    const d = arrowDtype(f.type);
    if (!isDtypeName(d)) throw new FileFormatError(`${where}: column "${name}" is ${d}`);
    return { name, dtype: d };
  });
}

/**
 * Copy a column's values into `out` (its length): floats' nulls become NaN, as pandas reads
 * them; an integer or bool column with a null cannot be held, and says so.
 */
export function columnInto(col: arrow.Vector, out: ChunkData, dtype: Dtype, where: string): void {
  if (col.length !== out.length) throw new FileFormatError(`${where}: ${col.length} values where ${out.length} were expected`);
  let at = 0;
  for (const d of col.data) {
    if (d.nullCount > 0 && dtype !== 'float32' && dtype !== 'float64') {
      throw new FileFormatError(`${where}: ${d.nullCount} nulls in a ${dtype} column (a ${dtype} array has no missing values; fill them first)`);
    }
    if (dtype === 'bool') unpackBits(d.values as Uint8Array, d.offset, d.length, out as Uint8Array, at);
    else (out as Float64Array).set((d.values as Float64Array).subarray(d.offset, d.offset + d.length), at);
    if (d.nullCount > 0) {
      const valid = d.nullBitmap!;
      for (let i = 0; i < d.length; i++) {
        const bit = d.offset + i;
        if ((valid[bit >> 3]! & (1 << (bit & 7))) === 0) (out as Float64Array)[at + i] = NaN;
      }
    }
    at += d.length;
  }
}

function unpackBits(bits: Uint8Array, offset: number, n: number, out: Uint8Array, at: number): void {
  for (let i = 0; i < n; i++) {
    const bit = offset + i;
    out[at + i] = (bits[bit >> 3]! >> (bit & 7)) & 1;
  }
}

function packBits(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 8));
  for (let i = 0; i < bytes.length; i++) if (bytes[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

const ARROW_TYPES: Record<Exclude<Dtype, 'complex128' | 'complex64'>, () => arrow.DataType> = {
  float64: () => new arrow.Float64(),
  float32: () => new arrow.Float32(),
  int64: () => new arrow.Int64(),
  int32: () => new arrow.Int32(),
  int16: () => new arrow.Int16(),
  int8: () => new arrow.Int8(),
  uint64: () => new arrow.Uint64(),
  uint32: () => new arrow.Uint32(),
  uint16: () => new arrow.Uint16(),
  uint8: () => new arrow.Uint8(),
  bool: () => new arrow.Bool(),
};

/** A table of 1-d chunks as columns, their values viewed, not copied (bools packed into bits). */
export function tableOfColumns(columns: readonly { name: string; dtype: Dtype; data: ChunkData }[]): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const c of columns) {
    const { dtype } = c;
    if (dtype === 'complex128' || dtype === 'complex64') throw new FileFormatError(`column ${c.name}: Parquet and Arrow have no ${dtype} column type; write the real and imaginary parts as two columns`);
    const data = dtype === 'bool' ? packBits(c.data as Uint8Array) : c.data;
    vectors[c.name] = arrow.makeVector(arrow.makeData({ type: ARROW_TYPES[dtype](), length: c.data.length, data } as never));
  }
  return new arrow.Table(vectors);
}
