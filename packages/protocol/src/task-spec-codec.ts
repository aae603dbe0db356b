import { Packr } from 'msgpackr';
import type { TaskSpec } from './graph.js';

// Plain msgpack maps, no msgpackr records: every value decodes alone, in any process.
const packr = new Packr({ useRecords: false });

/**
 * One task spec as stored (Redis hash values, 10^5 of them per graph): a msgpack tuple without
 * the key, which is the field name beside it (a random leaf: 47 bytes, against 124 as a map).
 */
export function packTaskSpec(t: TaskSpec): Uint8Array {
  const tuple: unknown[] = [t.op, t.params, t.deps, t.shape, t.dtype, t.nbytes, t.priority];
  // The device and cache marks only where there are some: CPU tasks keep their 7-tuple.
  if (t.device !== undefined || t.cache) tuple.push(t.device ?? null);
  if (t.cache) tuple.push(true);
  return packr.pack(tuple);
}

export function unpackTaskSpec(key: string, bytes: Uint8Array): TaskSpec {
  const [op, params, deps, shape, dtype, nbytes, priority, device, cache] = packr.unpack(bytes) as [
    TaskSpec['op'],
    TaskSpec['params'],
    TaskSpec['deps'],
    TaskSpec['shape'],
    TaskSpec['dtype'],
    number,
    number,
    TaskSpec['device'] | null,
    true | undefined,
  ];
  const spec: TaskSpec = { key, op, params, deps, shape, dtype, nbytes, priority };
  if (device === 'gpu' || device === 'auto') spec.device = device;
  if (cache === true) spec.cache = true;
  return spec;
}
