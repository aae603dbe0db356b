import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FetchStore, type AbsolutePath, type AsyncReadable, type RangeQuery } from 'zarrita';
import { InvalidArgumentError } from '../errors.js';
import { scratchBytes } from './scope.js';

/**
 * Where Zarr arrays live. A store is named in graphs by a string (a filesystem path, `file://`,
 * `http(s)://` or a registered scheme such as `s3://`) and opened by each process that needs it,
 * so the same graph runs on a worker that has never seen the client. Stores are zarrita's
 * key/value interface; `set` and `clear` only where the store can be written.
 */
export interface ZarrStore extends AsyncReadable {
  set?(key: AbsolutePath, value: Uint8Array): Promise<void>;
  /** Remove every key under `prefix` (an overwrite's old array), where the store can. */
  clear?(prefix: AbsolutePath): Promise<void>;
  /** How errors name the store. */
  readonly url: string;
}

export type ZarrStoreFactory = (url: string) => ZarrStore;

const factories = new Map<string, ZarrStoreFactory>();

/**
 * Plug in a store for a URL scheme (`s3`, `gs`, ...): every process that opens such a URL must
 * register it (the client before it builds the graph, workers in a kernel module they load).
 */
export function registerZarrStore(scheme: string, factory: ZarrStoreFactory): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new InvalidArgumentError(`registerZarrStore: "${scheme}" is not a URL scheme`);
  if (scheme === 'file') throw new InvalidArgumentError('registerZarrStore: file:// is built in');
  factories.set(scheme, factory);
}

/** The form a store URL travels in: filesystem paths made absolute (against this process's cwd). */
export function normalizeStoreUrl(url: string): string {
  if (typeof url !== 'string' || url.length === 0) throw new InvalidArgumentError('zarr: a store is a path or URL string');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return resolve(url);
  if (scheme === 'file') return fileURLToPath(url);
  return url;
}

/** Open a store by its URL, as normalizeStoreUrl gave it. */
export function openZarrStore(url: string): ZarrStore {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!isAbsolute(url)) throw new InvalidArgumentError(`zarr: store path ${url} is not absolute`);
    return new LocalStore(url);
  }
  if (scheme === 'http' || scheme === 'https') return httpStore(url);
  const f = factories.get(scheme);
  if (!f) throw new InvalidArgumentError(`zarr: no store for ${scheme}:// URLs (${url}); registerZarrStore('${scheme}', ...) in every process that opens one`);
  return f(url);
}

function httpStore(url: string): ZarrStore {
  const inner = new FetchStore(url);
  return {
    url,
    get: async (key) => inner.get(key).catch((e: Error) => failed(url, key, e)),
    getRange: async (key: AbsolutePath, range: RangeQuery) => inner.getRange(key, range).catch((e: Error) => failed(url, key, e)),
  };
}

function failed(url: string, key: string, e: Error): never {
  throw new Error(`zarr store ${url}: cannot read ${key.slice(1)}: ${e.message}`, { cause: e });
}

/**
 * A folder of files, one per key. Writes go to a temporary name and are renamed into place, so
 * a reader (or a write that dies half way) never leaves half a chunk or half a metadata file.
 */
export class LocalStore implements ZarrStore {
  constructor(readonly url: string) {}

  private file(key: AbsolutePath): string {
    // Keys are relative to the root: `..` could leave the store.
    if (key.split('/').includes('..')) throw new InvalidArgumentError(`zarr store ${this.url}: key ${key} leaves the store`);
    return join(this.url, key);
  }

  async get(key: AbsolutePath): Promise<Uint8Array | undefined> {
    const path = this.file(key);
    let f;
    try {
      f = await open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`zarr store ${this.url}: cannot read ${path}: ${(e as Error).message}`);
    }
    try {
      const { size } = await f.stat();
      // Inside a chunk read, into a recycled buffer (see scope.ts).
      const out = scratchBytes(size) ?? new Uint8Array(size);
      for (let done = 0; done < size; ) {
        const { bytesRead } = await f.read(out, done, size - done, done);
        if (bytesRead === 0) throw new Error(`it ended after ${done} of ${size} bytes`);
        done += bytesRead;
      }
      return out;
    } catch (e) {
      throw new Error(`zarr store ${this.url}: cannot read ${path}: ${(e as Error).message}`);
    } finally {
      await f.close();
    }
  }

  async getRange(key: AbsolutePath, range: RangeQuery): Promise<Uint8Array | undefined> {
    const path = this.file(key);
    const f = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new Error(`zarr store ${this.url}: cannot open ${path}: ${e.message}`);
    });
    if (!f) return undefined;
    try {
      const size = (await f.stat()).size;
      const [at, n] = 'suffixLength' in range ? [size - range.suffixLength, range.suffixLength] : [range.offset, range.length];
      const out = new Uint8Array(n);
      const { bytesRead } = await f.read(out, 0, n, at);
      if (bytesRead !== n) throw new Error(`zarr store ${this.url}: ${path} has ${size} bytes, a read of ${n} at ${at} needs more`);
      return out;
    } finally {
      await f.close();
    }
  }

  async set(key: AbsolutePath, value: Uint8Array): Promise<void> {
    const path = this.file(key);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(tmp, value);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new Error(`zarr store ${this.url}: cannot write ${path}: ${(e as Error).message}`);
    }
  }

  async clear(prefix: AbsolutePath): Promise<void> {
    await rm(this.file(prefix), { recursive: true, force: true });
  }
}
