import type { Graph } from '@tessera/protocol';
import type { ChunkedArray } from '../array.js';
import { buildGraph } from './build.js';
import { cull } from './cull.js';
import { fuse } from './fuse.js';
import { order } from './order.js';

export interface GraphOptions {
  /** Blockwise fusion (default true). */
  fuse?: boolean;
}

/** The graph a Client submits for some arrays: built (culled), fused, ordered. */
export function toGraph(outputs: readonly ChunkedArray[], opts: GraphOptions = {}): Graph {
  let g = buildGraph(outputs);
  if (opts.fuse !== false) g = cull(fuse(g));
  return order(g);
}
