/**
 * A bounds-checking pass over an Arrow IPC stream, run before apache-arrow reads it.
 *
 * apache-arrow (like the flatbuffers JS runtime under it) trusts the flatbuffer headers: a
 * corrupted vector length in a message header (say, 2^31 field nodes in a 200-byte header) makes
 * it loop and allocate until the process dies of OOM. Chunks arrive from peers over the network,
 * so we verify the framing and every vector that apache-arrow iterates (following Arrow's
 * Message.fbs / Schema.fbs) against the bytes actually present, and reject anything else with a
 * CodecError. Strings need no check (apache-arrow reads them through clamped subarrays).
 *
 * Internal to the codec; not exported from the package.
 */
import { CodecError } from './errors.js';

/** Limits that no chunk stream comes near. */
const MAX_METADATA_BYTES = 16 << 20;
const MAX_FIELD_DEPTH = 64;
const MAX_MESSAGES = 1024;

// Message.fbs: union MessageHeader { Schema = 1, DictionaryBatch = 2, RecordBatch = 3, Tensor = 4, SparseTensor = 5 }
const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;
// Schema.fbs: union Type { ..., Timestamp = 10, ..., Union = 14, ... }
const TYPE_TIMESTAMP = 10;
const TYPE_UNION = 14;
const MAX_TYPE_TAG = 26;

const HEADER_NAMES: Record<number, string> = { 1: 'Schema', 2: 'DictionaryBatch', 3: 'RecordBatch', 4: 'Tensor', 5: 'SparseTensor' };

interface Table {
  pos: number;
  vt: number;
  vtLen: number;
  tblLen: number;
}

/** A little-endian flatbuffer with every read checked against its length. */
class Flatbuffer {
  private readonly dv: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(msg: string): never {
    throw new CodecError(`not a valid Arrow IPC stream: ${this.what}: ${msg}`);
  }

  private need(p: number, n: number, what: string): void {
    if (!(p >= 0 && n >= 0 && p + n <= this.bytes.byteLength)) {
      this.fail(`${what} at byte ${p} (+${n}) lies outside the ${this.bytes.byteLength}-byte header`);
    }
  }

  u8(p: number): number {
    this.need(p, 1, 'u8');
    return this.dv.getUint8(p);
  }
  u16(p: number): number {
    this.need(p, 2, 'u16');
    return this.dv.getUint16(p, true);
  }
  i32(p: number): number {
    this.need(p, 4, 'i32');
    return this.dv.getInt32(p, true);
  }
  u32(p: number): number {
    this.need(p, 4, 'u32');
    return this.dv.getUint32(p, true);
  }
  /** A non-negative int64 as a JS number (fails beyond 2^53). */
  u53(p: number, what: string): number {
    this.need(p, 8, what);
    const lo = this.dv.getUint32(p, true);
    const hi = this.dv.getInt32(p + 4, true);
    if (hi < 0 || hi >= 1 << 21) this.fail(`${what} is ${hi < 0 ? 'negative' : 'too large'}`);
    return hi * 2 ** 32 + lo;
  }

  root(): Table {
    return this.table(this.u32(0), 'root table');
  }

  /** Follow a uoffset at `p`. */
  ref(p: number, what: string): number {
    const target = p + this.u32(p);
    this.need(target, 4, what);
    return target;
  }

  table(pos: number, what: string): Table {
    this.need(pos, 4, what);
    const vt = pos - this.i32(pos);
    this.need(vt, 4, `${what} vtable`);
    const vtLen = this.u16(vt);
    const tblLen = this.u16(vt + 2);
    if (vtLen < 4 || vtLen % 2 !== 0) this.fail(`${what} has a malformed vtable (size ${vtLen})`);
    this.need(vt, vtLen, `${what} vtable`);
    this.need(pos, tblLen, what);
    return { pos, vt, vtLen, tblLen };
  }

  /** Absolute position of field `slot` of table `t`, or 0 when absent. */
  field(t: Table, slot: number, size: number, what: string): number {
    const at = 4 + 2 * slot;
    if (at + 2 > t.vtLen) return 0;
    const o = this.u16(t.vt + at);
    if (o === 0) return 0;
    if (o + size > t.tblLen) this.fail(`field ${what} lies outside its table`);
    return t.pos + o;
  }

  /** A vector field: its element count, with count * elemSize bytes checked to exist. */
  vector(t: Table, slot: number, elemSize: number, what: string): { start: number; n: number } | undefined {
    const p = this.field(t, slot, 4, what);
    if (!p) return undefined;
    const v = this.ref(p, what);
    const n = this.u32(v);
    if (n * elemSize > this.bytes.byteLength - (v + 4)) {
      this.fail(`${what} claims ${n} elements, more than the header can hold`);
    }
    return { start: v + 4, n };
  }

  /** A vector of tables: check it and return each element table. */
  tables(t: Table, slot: number, what: string): Table[] {
    const v = this.vector(t, slot, 4, what);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.n; i++) out.push(this.table(this.ref(v.start + 4 * i, what), `${what}[${i}]`));
    return out;
  }

  subtable(t: Table, slot: number, what: string): Table | undefined {
    const p = this.field(t, slot, 4, what);
    return p ? this.table(this.ref(p, what), what) : undefined;
  }

  string(t: Table, slot: number, what: string): void {
    this.vector(t, slot, 1, what);
  }

  ubyte(t: Table, slot: number, what: string): number {
    const p = this.field(t, slot, 1, what);
    return p ? this.u8(p) : 0;
  }
}

function verifyKeyValues(fb: Flatbuffer, t: Table, slot: number, what: string): void {
  for (const kv of fb.tables(t, slot, what)) {
    fb.string(kv, 0, `${what} key`);
    fb.string(kv, 1, `${what} value`);
  }
}

// table Field { name: string; nullable: bool; type: Type (slots 2, 3); dictionary: DictionaryEncoding;
//               children: [Field]; custom_metadata: [KeyValue]; }
function verifyField(fb: Flatbuffer, f: Table, depth: number): void {
  if (depth > MAX_FIELD_DEPTH) throw new CodecError(`not a valid Arrow IPC stream: fields nested deeper than ${MAX_FIELD_DEPTH}`);
  fb.string(f, 0, 'field name');
  const typeTag = fb.ubyte(f, 2, 'field type tag');
  if (typeTag > MAX_TYPE_TAG) throw new CodecError(`not a valid Arrow IPC stream: unknown Arrow type tag ${typeTag}`);
  const type = fb.subtable(f, 3, 'field type');
  if (type && typeTag === TYPE_UNION) fb.vector(type, 1, 4, 'union type ids');
  if (type && typeTag === TYPE_TIMESTAMP) fb.string(type, 1, 'timestamp time zone');
  // table DictionaryEncoding { id: long; indexType: Int; isOrdered: bool; dictionaryKind: short }
  const dict = fb.subtable(f, 4, 'dictionary encoding');
  if (dict) fb.subtable(dict, 1, 'dictionary index type');
  for (const child of fb.tables(f, 5, 'field children')) verifyField(fb, child, depth + 1);
  verifyKeyValues(fb, f, 6, 'field metadata');
}

// table RecordBatch { length: long; nodes: [FieldNode]; buffers: [Buffer]; compression: BodyCompression;
//                     variadicBufferCounts: [long]; }   (FieldNode and Buffer are 16-byte structs)
function verifyRecordBatch(fb: Flatbuffer, rb: Table): void {
  const len = fb.field(rb, 0, 8, 'record batch length');
  if (len) fb.u53(len, 'record batch length');
  fb.vector(rb, 1, 16, 'record batch field nodes');
  fb.vector(rb, 2, 16, 'record batch buffers');
  fb.subtable(rb, 3, 'record batch compression');
  fb.vector(rb, 4, 8, 'record batch variadic buffer counts');
}

/**
 * Check one message header (the flatbuffer after the length prefix). Returns its type and body
 * length. table Message { version: short; header: MessageHeader (slots 1, 2); bodyLength: long;
 * custom_metadata: [KeyValue]; }
 */
function verifyMessage(bytes: Uint8Array, index: number): { headerType: number; bodyLength: number } {
  const fb = new Flatbuffer(bytes, `message ${index}`);
  const msg = fb.root();
  const headerType = fb.ubyte(msg, 1, 'message header type');
  const header = fb.subtable(msg, 2, 'message header');
  const bl = fb.field(msg, 3, 8, 'message body length');
  const bodyLength = bl ? fb.u53(bl, 'message body length') : 0;
  verifyKeyValues(fb, msg, 4, 'message metadata');
  if (!header) throw new CodecError(`not a valid Arrow IPC stream: message ${index} has no header`);
  switch (headerType) {
    case HEADER_SCHEMA:
      // table Schema { endianness: short; fields: [Field]; custom_metadata: [KeyValue]; features: [long]; }
      if (index !== 0) throw new CodecError(`not a valid Arrow IPC stream: a second Schema message (message ${index})`);
      for (const f of fb.tables(header, 1, 'schema fields')) verifyField(fb, f, 0);
      verifyKeyValues(fb, header, 2, 'schema metadata');
      fb.vector(header, 3, 8, 'schema features');
      break;
    case HEADER_RECORD_BATCH:
      verifyRecordBatch(fb, header);
      break;
    case HEADER_DICTIONARY_BATCH: {
      // table DictionaryBatch { id: long; data: RecordBatch; isDelta: bool; }
      const data = fb.subtable(header, 1, 'dictionary batch data');
      if (data) verifyRecordBatch(fb, data);
      break;
    }
    default:
      throw new CodecError(
        `not a valid Arrow IPC stream: message ${index} is a ${HEADER_NAMES[headerType] ?? `type-${headerType}`} message, expected Schema or RecordBatch`,
      );
  }
  if (index === 0 && headerType !== HEADER_SCHEMA) {
    throw new CodecError(`not a valid Arrow IPC stream: the first message is a ${HEADER_NAMES[headerType]}, not a Schema`);
  }
  return { headerType, bodyLength };
}

/** Reads a list of buffers as one byte sequence; copies only what straddles two buffers. */
class Parts {
  readonly total: number;
  private readonly starts: number[] = [];
  constructor(private readonly parts: readonly Uint8Array[]) {
    let n = 0;
    for (const p of parts) {
      this.starts.push(n);
      n += p.byteLength;
    }
    this.total = n;
  }
  bytes(at: number, n: number): Uint8Array {
    for (let i = 0; i < this.parts.length; i++) {
      const p = this.parts[i]!;
      const s = this.starts[i]!;
      if (at >= s && at + n <= s + p.byteLength) return p.subarray(at - s, at - s + n);
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < this.parts.length; i++) {
      const p = this.parts[i]!;
      const s = this.starts[i]!;
      const lo = Math.max(at, s);
      const hi = Math.min(at + n, s + p.byteLength);
      if (lo < hi) out.set(p.subarray(lo - s, hi - s), lo - at);
    }
    return out;
  }
  i32(at: number): number {
    const b = this.bytes(at, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
  }
}

/** Summary of a verified stream. */
export interface StreamSummary {
  recordBatches: number;
  dictionaryBatches: number;
  /** Whether the stream ended with an end-of-stream marker (rather than at the end of the bytes). */
  eos: boolean;
}

/**
 * Walk every message of the stream: framing, header flatbuffers (bounds-checked as above) and
 * that each body is wholly present. Throws CodecError with what is wrong and where.
 */
export function verifyIpcStream(list: readonly Uint8Array[]): StreamSummary {
  const src = new Parts(list);
  const summary: StreamSummary = { recordBatches: 0, dictionaryBatches: 0, eos: false };
  let at = 0;
  for (let index = 0; ; index++) {
    if (at === src.total) {
      if (index === 0) throw new CodecError('not an Arrow IPC stream: the input is empty');
      return summary; // ended without the end-of-stream marker: tolerated, like other Arrow readers
    }
    if (index >= MAX_MESSAGES) throw new CodecError(`not a valid chunk stream: more than ${MAX_MESSAGES} messages`);
    const left = src.total - at;
    if (left < 4)
      throw new CodecError(`not an Arrow IPC stream: truncated at byte ${at} (${left} stray bytes where a message should start)`);
    let metaLen = src.i32(at);
    let prefix = 4;
    if (metaLen === -1) {
      // 0xFFFFFFFF continuation marker (format >= 0.15), then the length
      if (left < 8) throw new CodecError(`not an Arrow IPC stream: truncated at byte ${at} inside a message length`);
      metaLen = src.i32(at + 4);
      prefix = 8;
    }
    if (metaLen === 0) {
      at += prefix;
      if (at !== src.total) {
        throw new CodecError(`not a valid chunk stream: ${src.total - at} bytes after the end-of-stream marker`);
      }
      summary.eos = true;
      return summary;
    }
    if (metaLen < 0 || metaLen > MAX_METADATA_BYTES || metaLen > left - prefix) {
      const head = src.bytes(at, Math.min(8, left));
      const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
      const where = index === 0 ? 'not an Arrow IPC stream' : `not a valid Arrow IPC stream (message ${index}, byte ${at})`;
      throw new CodecError(
        metaLen > 0 && metaLen <= MAX_METADATA_BYTES
          ? `${where}: truncated: the message header needs ${metaLen} bytes, only ${left - prefix} left (starts with ${hex})`
          : `${where}: a message header of ${metaLen} bytes makes no sense (starts with ${hex})`,
      );
    }
    const { headerType, bodyLength } = verifyMessage(src.bytes(at + prefix, metaLen), index);
    at += prefix + metaLen;
    if (bodyLength > src.total - at) {
      throw new CodecError(
        `not a valid Arrow IPC stream: truncated: message ${index} (${HEADER_NAMES[headerType]}) needs a ${bodyLength}-byte body, only ${src.total - at} bytes left`,
      );
    }
    at += bodyLength;
    if (headerType === HEADER_RECORD_BATCH) summary.recordBatches++;
    if (headerType === HEADER_DICTIONARY_BATCH) summary.dictionaryBatches++;
  }
}
