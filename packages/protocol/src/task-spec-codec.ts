import { Packr } from 'msgpackr';
import type { TaskSpec } from './graph.js';

// Plain msgpack maps, no msgpackr records: every value decodes alone, in any process.
const packr = new Packr({ useRecords: false });

/**
 * One task spec as stored (Redis hash values, 10^5 of them per graph): a msgpack tuple without
 * the key, which is the field name beside it (a random leaf: 47 bytes, against 124 as a map).
 */
export function packTaskSpec(t: TaskSpec): Uint8Array {
  return packr.pack([t.op, t.params, t.deps, t.shape, t.dtype, t.nbytes, t.priority]);
}

export function unpackTaskSpec(key: string, bytes: Uint8Array): TaskSpec {
  const [op, params, deps, shape, dtype, nbytes, priority] = packr.unpack(bytes) as [
    TaskSpec['op'],
    TaskSpec['params'],
    TaskSpec['deps'],
    TaskSpec['shape'],
    TaskSpec['dtype'],
    number,
    number,
  ];
  return { key, op, params, deps, shape, dtype, nbytes, priority };
}
