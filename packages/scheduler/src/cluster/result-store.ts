import type { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import { graphKeys, graphSideKeys, itemsize, viewOf, type Chunk, type Dtype } from '@tessera/protocol';

import { runScript } from '../store/redis-scripts/redis-script.js';
import { putResults } from '../store/redis-scripts/side-write-2.js';

const packr = new Packr({ useRecords: false });

/**
 * Small output chunks that rode along with their completion: kept in memory for the client's
 * fetch, and in the graph's `results` hash so a restarted scheduler still has them.
 */
export class ResultStore {
  private readonly byGraph = new Map<string, Map<string, Chunk>>();
  private unwritten: [graph: string, key: string, packed: Buffer][] = [];

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  put(graphs: Iterable<string>, key: string, dtype: Dtype, shape: number[], data: Uint8Array): void {
    // Copied into a fresh buffer: decoded msgpack bytes may sit at an offset no typed array accepts.
    const bytes = new Uint8Array(data);
    const chunk: Chunk = { dtype, shape, data: viewOf(dtype, bytes.buffer, 0, bytes.byteLength / itemsize(dtype)) };
    const packed = packr.pack({ dtype, shape, data: bytes });
    for (const g of graphs) {
      let m = this.byGraph.get(g);
      if (!m) this.byGraph.set(g, (m = new Map()));
      m.set(key, chunk);
      this.unwritten.push([g, key, packed]);
    }
    if (this.unwritten.length === 1) setImmediate(() => this.write());
  }

  /** The copies in Redis go out many per HSET: one command each would cost a write per task. */
  private write(): void {
    const byGraph = new Map<string, (string | Buffer)[]>();
    for (const [graph, key, packed] of this.unwritten.splice(0)) {
      const fields = byGraph.get(graph) ?? [];
      fields.push(key, packed);
      byGraph.set(graph, fields);
    }
    for (const [graph, fields] of byGraph) {
      const keys = [graphKeys(this.prefix, graph).meta, graphSideKeys(this.prefix, graph).results];
      runScript(this.redis, putResults, keys, fields).catch(() => undefined);
    }
  }

  async get(graph: string, key: string): Promise<Chunk | undefined> {
    const hit = this.byGraph.get(graph)?.get(key);
    if (hit) return hit;
    const raw = await this.redis.hgetBuffer(graphSideKeys(this.prefix, graph).results, key);
    if (!raw) return undefined;
    const v = packr.unpack(raw) as { dtype: Dtype; shape: number[]; data: Uint8Array };
    const bytes = new Uint8Array(v.data);
    return { dtype: v.dtype, shape: v.shape, data: viewOf(v.dtype, bytes.buffer, 0, bytes.byteLength / itemsize(v.dtype)) };
  }

  dropGraph(graph: string): void {
    this.byGraph.delete(graph);
    // A copy written after the graph's keys are deleted would outlive them.
    const hash = graphSideKeys(this.prefix, graph).results;
    this.unwritten = this.unwritten.filter(([h]) => h !== hash);
  }
}
