import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allocChunk, type Chunk, type Dtype } from '@tessera/protocol';

/**
 * Chunk bytes on local disk, for a worker over its memory target: one file per chunk, raw
 * elements (dtype and shape stay in memory with the entry). The folder is this worker's alone
 * and goes when it closes.
 */
export class SpillFiles {
  private next = 0;
  private made: Promise<void> | undefined;
  private exists = false;

  constructor(readonly dir: string) {}

  async write(chunk: Chunk): Promise<string> {
    // A folder that could not be made is tried again at the next write (the disk may have room by then).
    await (this.made ??= mkdir(this.dir, { recursive: true }).then(
      () => {
        this.exists = true;
      },
      (e: unknown) => {
        this.made = undefined;
        throw e;
      },
    ));
    const path = join(this.dir, `${this.next++}.chunk`);
    const d = chunk.data;
    try {
      await writeFile(path, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    } catch (e) {
      // A full disk leaves a partial file: it goes, so the space it took is free again.
      await unlink(path).catch(() => undefined);
      throw e;
    }
    return path;
  }

  async read(path: string, dtype: Dtype, shape: readonly number[]): Promise<Chunk> {
    const bytes = await readFile(path);
    const chunk = allocChunk(dtype, shape);
    if (bytes.byteLength !== chunk.data.byteLength)
      throw new Error(`spilled chunk ${path}: ${bytes.byteLength} bytes on disk, ${chunk.data.byteLength} expected`);
    new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength).set(bytes);
    return chunk;
  }

  remove(path: string): void {
    void unlink(path).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.exists) await rm(this.dir, { recursive: true, force: true });
  }
}
