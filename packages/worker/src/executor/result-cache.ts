import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, itemsize, lanes, sizeOf, typedArrayCtor, isDtypeName, type Chunk, type Dtype, type TaskSpec } from '@tessera/protocol';

/**
 * Entries written by another format or another build of the kernels are never read: the stamp
 * is the format, the package version and a hash of the kernels' code (the compiled TypeScript,
 * the WebAssembly and the native addons), so any change to a kernel makes a new cache.
 */
const FORMAT = 1;
let stampMemo: string | undefined;
const stamp = (): string => (stampMemo ??= kernelsStamp());
function kernelsStamp(): string {
  const pkg = new URL('../../', import.meta.url);
  const h = createHash('sha256').update(readFileSync(new URL('package.json', pkg)));
  const files = (dir: string, ext: string): string[] => {
    try {
      return readdirSync(fileURLToPath(new URL(dir, pkg)))
        .filter((f) => f.endsWith(ext))
        .sort()
        .map((f) => fileURLToPath(new URL(dir + f, pkg)));
    } catch {
      return [];
    }
  };
  for (const f of [...files('dist/kernels/', '.js'), ...files('wasm/', '.wasm'), ...files('build/Release/', '.node')]) h.update(f).update(readFileSync(f));
  return `tessera-cache-${FORMAT}/${h.digest('hex').slice(0, 16)}`;
}
const MAGIC = Buffer.from('TSCACHE1');
const SUFFIX = '.chunk';

export interface ResultCacheOptions {
  dir: string;
  /** Bytes of entries kept; past it the least recently used go (default 4 GiB). */
  maxBytes?: number;
  /** The kernel modules the pool loads: a pure user kernel's entries are stamped with their code. */
  kernels?: readonly string[];
}

export interface ResultCacheStats {
  hits: number;
  misses: number;
  writes: number;
  /** Entries found damaged (truncated, checksum wrong), deleted and recomputed. */
  corrupt: number;
  evicted: number;
  entries: number;
  bytes: number;
}

interface Header {
  stamp: string;
  key: string;
  op: string;
  dtype: Dtype;
  shape: number[];
  bytes: number;
  sha256: string;
}

export interface CacheEntry {
  id: string;
  key: string;
  op: string;
  dtype: Dtype;
  shape: number[];
  bytes: number;
  lastUsed: Date;
}

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * A hash of the user kernel modules' code (a path or file: URL is read; a package name counts by
 * its name), so a pure kernel's entries go stale when its module changes.
 */
function modulesStamp(kernels: readonly string[]): string {
  const h = createHash('sha256');
  for (const k of kernels) {
    h.update(k).update('\0');
    try {
      h.update(readFileSync(k.startsWith('file:') ? fileURLToPath(k) : k));
    } catch {
      // Not a file here (a package name): its name stands for it.
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** The entry of a task: its key and everything that decides its output (not its priority); `user`: the kernel modules' stamp, for user kernels. */
export function entryId(spec: Pick<TaskSpec, 'key' | 'op' | 'params' | 'deps' | 'shape' | 'dtype'>, user = ''): string {
  // JSON loses NaN, ±Infinity and bigints: spelled out so that they stay apart.
  const body = JSON.stringify([spec.key, spec.op, spec.params, spec.deps, spec.shape, spec.dtype], (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? `#${v}` : v,
  );
  return createHash('sha256')
    .update(stamp())
    .update('\0')
    .update(spec.op === 'map-blocks' ? user : '')
    .update('\0')
    .update(body)
    .digest('hex');
}

/**
 * joblib's Memory for task outputs: one file per chunk under `dir` (a header with the task key,
 * dtype, shape and a SHA-256 of the data, then the data), written under a temporary name and
 * renamed, so processes may share a folder. A damaged entry is deleted and reported as a miss.
 */
export class ResultCache {
  private readonly index = new Map<string, { bytes: number; used: number }>();
  private total = 0;
  private readonly counts = { hits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0 };
  private tmp = 0;
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly user: string,
  ) {}

  static async open(options: ResultCacheOptions): Promise<ResultCache> {
    const maxBytes = options.maxBytes ?? 4 * 2 ** 30;
    if (!(Number.isFinite(maxBytes) && maxBytes >= 0)) throw new InvalidArgumentError(`cache maxBytes must be a non-negative number, got ${maxBytes}`);
    const c = new ResultCache(options.dir, maxBytes, modulesStamp(options.kernels ?? []));
    await mkdir(options.dir, { recursive: true });
    for (const e of await listFiles(options.dir)) c.note(e.id, e.size, e.mtimeMs);
    return c;
  }

  stats(): ResultCacheStats {
    return { ...this.counts, entries: this.index.size, bytes: this.total };
  }

  private path(id: string): string {
    return join(this.dir, id.slice(0, 2), id + SUFFIX);
  }

  private note(id: string, bytes: number, used: number): void {
    const had = this.index.get(id);
    if (had) this.total -= had.bytes;
    this.index.set(id, { bytes, used });
    this.total += bytes;
  }

  private forget(id: string): void {
    const had = this.index.get(id);
    if (!had) return;
    this.total -= had.bytes;
    this.index.delete(id);
  }

  /** The cached output of a task, or undefined (a miss, or an entry found damaged and deleted). */
  async get(spec: TaskSpec): Promise<Chunk | undefined> {
    const id = entryId(spec, this.user);
    const file = this.path(id);
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch {
      this.forget(id);
      this.counts.misses++;
      return undefined;
    }
    const chunk = decode(raw, spec);
    if (!chunk) {
      this.counts.corrupt++;
      this.counts.misses++;
      this.forget(id);
      await rm(file, { force: true });
      return undefined;
    }
    this.counts.hits++;
    const now = Date.now();
    this.note(id, raw.length, now);
    // Least recently used by mtime, across processes that share the folder.
    utimes(file, now / 1000, now / 1000).catch(() => undefined);
    return chunk;
  }

  /**
   * Store a task's output. The bytes are copied before this returns (the chunk's buffer may be
   * recycled at once); the write itself finishes later, and its failure costs only the entry.
   */
  put(spec: TaskSpec, chunk: Chunk): Promise<void> {
    const id = entryId(spec, this.user);
    const data = Buffer.from(new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength));
    const header: Header = { stamp: stamp(), key: spec.key, op: spec.op, dtype: chunk.dtype, shape: [...chunk.shape], bytes: data.length, sha256: hex(data) };
    const head = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(head.length);
    const file = this.path(id);
    const tmp = `${file}.${process.pid}.${this.tmp++}.tmp`;
    const size = MAGIC.length + 4 + head.length + data.length;
    const write = (async () => {
      try {
        await mkdir(join(this.dir, id.slice(0, 2)), { recursive: true });
        await writeFile(tmp, Buffer.concat([MAGIC, len, head, data]));
        await rename(tmp, file);
        this.counts.writes++;
        this.note(id, size, Date.now());
        await this.evict();
      } catch {
        await rm(tmp, { force: true });
      }
    })().finally(() => this.pending.delete(write));
    this.pending.add(write);
    return write;
  }

  /** Every write begun so far finished (the executor's close waits for it). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The least recently used entries go until the rest fit maxBytes. */
  private async evict(): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const order = [...this.index.entries()].sort((a, b) => a[1].used - b[1].used);
    for (const [id] of order) {
      if (this.total <= this.maxBytes) break;
      this.forget(id);
      this.counts.evicted++;
      await rm(this.path(id), { force: true });
    }
  }
}

/** The chunk in an entry's bytes, or undefined where anything is off (format, stamp, task, size, checksum). */
function decode(raw: Buffer, spec: TaskSpec): Chunk | undefined {
  if (raw.length < MAGIC.length + 4 || !raw.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const headLen = raw.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + headLen;
  if (start > raw.length) return undefined;
  let h: Header;
  try {
    h = JSON.parse(raw.subarray(MAGIC.length + 4, start).toString('utf8')) as Header;
  } catch {
    return undefined;
  }
  if (h.stamp !== stamp() || h.key !== spec.key || !isDtypeName(h.dtype) || h.dtype !== spec.dtype || !Array.isArray(h.shape)) return undefined;
  if (h.shape.length !== spec.shape.length || h.shape.some((d, i) => d !== spec.shape[i])) return undefined;
  const n = sizeOf(h.shape);
  const bytes = n * itemsize(h.dtype);
  const data = raw.subarray(start);
  if (h.bytes !== bytes || data.length !== bytes || hex(data) !== h.sha256) return undefined;
  const sab = new SharedArrayBuffer(bytes);
  new Uint8Array(sab).set(data);
  const Ctor = typedArrayCtor(h.dtype) as unknown as new (b: SharedArrayBuffer, o: number, n: number) => Chunk['data'];
  return { dtype: h.dtype, shape: h.shape, data: new Ctor(sab, 0, n * lanes(h.dtype)) };
}

async function listFiles(dir: string): Promise<{ id: string; file: string; size: number; mtimeMs: number }[]> {
  const out: { id: string; file: string; size: number; mtimeMs: number }[] = [];
  let subs: string[];
  try {
    subs = await readdir(dir);
  } catch {
    return out;
  }
  for (const s of subs) {
    if (!/^[0-9a-f]{2}$/.test(s)) continue;
    for (const f of await readdir(join(dir, s)).catch(() => [] as string[])) {
      if (!f.endsWith(SUFFIX)) continue;
      const file = join(dir, s, f);
      const st = await stat(file).catch(() => undefined);
      if (st) out.push({ id: f.slice(0, -SUFFIX.length), file, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}

/** An entry's header alone (its data is not read). */
async function readHeader(file: string): Promise<Header | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const pre = Buffer.alloc(MAGIC.length + 4);
    if ((await fh.read(pre, 0, pre.length, 0)).bytesRead < pre.length || !pre.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const head = Buffer.alloc(pre.readUInt32LE(MAGIC.length));
    if ((await fh.read(head, 0, head.length, pre.length)).bytesRead < head.length) return undefined;
    return JSON.parse(head.toString('utf8')) as Header;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

/** The entries of a cache folder, most recently used first (`tessera cache ls`). */
export async function listCache(dir: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const f of await listFiles(dir)) {
    const h = await readHeader(f.file);
    if (h) out.push({ id: f.id, key: h.key, op: h.op, dtype: h.dtype, shape: h.shape, bytes: f.size, lastUsed: new Date(f.mtimeMs) });
  }
  return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/** Delete every entry of a cache folder (`tessera cache clear`); returns how many there were. */
export async function clearCache(dir: string): Promise<number> {
  const files = await listFiles(dir);
  await Promise.all(files.map((f) => rm(f.file, { force: true })));
  return files.length;
}
