import type { Dtype } from '@tessera/protocol';

export interface HeldChunk {
  worker: string;
  nbytes: number;
  dtype: Dtype;
  shape: number[];
  /** Graphs that still need it; a chunk no graph needs and not pinned is freed on its worker. */
  graphs: Set<string>;
  /** Persisted output (client.persist): kept until unpersisted. */
  pinned: boolean;
}

/**
 * Which worker holds which chunk, for every graph at once: graphs that share keys share chunks,
 * placement reads input bytes per worker here, and a dead worker's entries say what was lost.
 */
export class ChunkDirectory {
  private readonly chunks = new Map<string, HeldChunk>();
  private readonly byGraph = new Map<string, Set<string>>();

  get(key: string): HeldChunk | undefined {
    return this.chunks.get(key);
  }

  get size(): number {
    return this.chunks.size;
  }

  /** A chunk is in memory on a worker for `graphs` (merged when already held there). */
  put(key: string, chunk: Omit<HeldChunk, 'graphs' | 'pinned'>, graphs: Iterable<string>, pinned = false): HeldChunk {
    let e = this.chunks.get(key);
    if (!e || e.worker !== chunk.worker) {
      e = { ...chunk, graphs: new Set(), pinned };
      this.chunks.set(key, e);
    }
    e.pinned ||= pinned;
    for (const g of graphs) this.hold(key, g);
    return e;
  }

  hold(key: string, graph: string): void {
    const e = this.chunks.get(key);
    if (!e) return;
    e.graphs.add(graph);
    let s = this.byGraph.get(graph);
    if (!s) this.byGraph.set(graph, (s = new Set()));
    s.add(key);
  }

  /** `graph` needs `key` no more; returns the entry when nothing keeps it (to free on its worker). */
  drop(key: string, graph: string): HeldChunk | undefined {
    const e = this.chunks.get(key);
    this.byGraph.get(graph)?.delete(key);
    if (!e) return undefined;
    e.graphs.delete(graph);
    return this.freeIfUnused(key, e);
  }

  /** Everything `graph` holds, released; `pin` keys stay (persisted outputs). Returns what to free. */
  dropGraph(graph: string, pin: ReadonlySet<string>): [string, HeldChunk][] {
    const out: [string, HeldChunk][] = [];
    for (const key of this.byGraph.get(graph) ?? []) {
      const e = this.chunks.get(key);
      if (!e) continue;
      e.graphs.delete(graph);
      if (pin.has(key)) e.pinned = true;
      const freed = this.freeIfUnused(key, e);
      if (freed) out.push([key, freed]);
    }
    this.byGraph.delete(graph);
    return out;
  }

  unpin(key: string): HeldChunk | undefined {
    const e = this.chunks.get(key);
    if (!e) return undefined;
    e.pinned = false;
    return this.freeIfUnused(key, e);
  }

  /** Forget every chunk on a dead worker; returns them (their graphs must recompute what they need). */
  loseWorker(worker: string): [string, HeldChunk][] {
    const lost: [string, HeldChunk][] = [];
    for (const [key, e] of this.chunks) {
      if (e.worker !== worker) continue;
      this.chunks.delete(key);
      for (const g of e.graphs) this.byGraph.get(g)?.delete(key);
      lost.push([key, e]);
    }
    return lost;
  }

  /** Forget one chunk (its worker no longer has it). */
  lose(key: string): HeldChunk | undefined {
    const e = this.chunks.get(key);
    if (!e) return undefined;
    this.chunks.delete(key);
    for (const g of e.graphs) this.byGraph.get(g)?.delete(key);
    return e;
  }

  /** Bytes of `keys` each worker holds. */
  bytesByWorker(keys: readonly string[]): Map<string, number> {
    const m = new Map<string, number>();
    for (const k of keys) {
      const e = this.chunks.get(k);
      if (e) m.set(e.worker, (m.get(e.worker) ?? 0) + e.nbytes);
    }
    return m;
  }

  private freeIfUnused(key: string, e: HeldChunk): HeldChunk | undefined {
    if (e.graphs.size > 0 || e.pinned) return undefined;
    this.chunks.delete(key);
    return e;
  }
}
