import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { registry } from 'zarrita';
import { outputBuffer } from './scope.js';

/**
 * Codecs zarrita lacks or that Node does better, put into zarrita's codec registry once per
 * process: gzip both ways through node:zlib (zarrita's gzip only decodes, and zlib runs on the
 * libuv pool, off the calling thread), and v3 blosc, whose configuration names its shuffle
 * ('shuffle') where numcodecs' Blosc takes a number.
 */

interface BytesCodec {
  kind: 'bytes_to_bytes';
  encode(bytes: Uint8Array): Promise<Uint8Array>;
  decode(bytes: Uint8Array): Promise<Uint8Array>;
}

type CodecEntry = { fromConfig(config: unknown): BytesCodec; kind: 'bytes_to_bytes' };

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const GZIP: CodecEntry = {
  kind: 'bytes_to_bytes',
  fromConfig: (config) => {
    const level = (config as { level?: number } | undefined)?.level ?? 5;
    return {
      kind: 'bytes_to_bytes',
      encode: async (b) => new Uint8Array(await gzipAsync(b, { level })),
      decode: async (b) => new Uint8Array(await gunzipAsync(b)),
    };
  },
};

const SHUFFLE_NUMBERS: Record<string, number> = { noshuffle: 0, shuffle: 1, bitshuffle: 2 };

async function bloscV3(): Promise<CodecEntry> {
  const Blosc = (await import('numcodecs/blosc')).default;
  return {
    kind: 'bytes_to_bytes',
    fromConfig: (config) => {
      const c = config as { cname?: string; clevel?: number; shuffle?: string | number; blocksize?: number };
      const shuffle = typeof c.shuffle === 'string' ? SHUFFLE_NUMBERS[c.shuffle] : c.shuffle;
      if (shuffle === undefined && c.shuffle !== undefined) throw new Error(`blosc shuffle "${String(c.shuffle)}" is not noshuffle, shuffle or bitshuffle`);
      const codec = Blosc.fromConfig({ cname: c.cname ?? 'lz4', clevel: c.clevel ?? 5, shuffle: shuffle ?? 1, blocksize: c.blocksize ?? 0 } as never);
      return { kind: 'bytes_to_bytes', encode: (b) => codec.encode(b), decode: (b) => codec.decode(b) };
    },
  };
}

let registered = false;

/** Idempotent: the first Zarr use in a process calls it. */
export function registerZarrCodecs(): void {
  if (registered) return;
  registered = true;
  const set = (name: string, load: () => unknown): void => void registry.set(name, load as never);
  set('gzip', () => GZIP);
  set('numcodecs.gzip', () => GZIP);
  set('blosc', bloscV3);
}

/** A whole-buffer zstd (the worker's native libzstd, where it was built). */
export interface ZstdImpl {
  /** The decompressed size of all frames, -1 where a frame does not record it. */
  contentSize(src: Uint8Array): number;
  decompressInto(src: Uint8Array, dst: Uint8Array): number;
  decompress(src: Uint8Array): Uint8Array;
  compress(src: Uint8Array, level: number): Uint8Array;
}

/**
 * zstd by `impl` instead of numcodecs' WebAssembly: chunks are decoded straight into shared
 * memory (where chunks live), when their frames say how big they are (zarr-python's do).
 */
export function useZstd(impl: ZstdImpl): void {
  registerZarrCodecs();
  const decode = async (b: Uint8Array): Promise<Uint8Array> => {
    const size = impl.contentSize(b);
    if (size < 0) return impl.decompress(b);
    const out = new Uint8Array(outputBuffer(size));
    const n = impl.decompressInto(b, out);
    if (n !== size) throw new Error(`zstd: ${n} bytes decoded, the frames say ${size}`);
    return out;
  };
  const entry: CodecEntry = {
    kind: 'bytes_to_bytes',
    fromConfig: (config) => {
      const level = (config as { level?: number } | undefined)?.level ?? 1;
      return { kind: 'bytes_to_bytes', encode: async (b) => impl.compress(b, level), decode };
    },
  };
  registry.set('zstd', (() => entry) as never);
  registry.set('numcodecs.zstd', (() => entry) as never);
}
