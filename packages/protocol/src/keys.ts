import { createHash } from 'node:crypto';

/**
 * Task keys are `<op>-<token>:<i>,<j>`: `<op>-<token>` names the array (the task group) and the
 * suffix is the block index. The token hashes the op, its parameters and its inputs' tokens, so
 * the same expression always gets the same keys.
 */
export const KEY_PATTERN = /^[a-z][a-z0-9_.]*(?:-[a-z0-9_.]+)*-[0-9a-f]{8,40}:(?:\d+(?:,\d+)*)?$/;

export function taskKey(name: string, index: readonly number[]): string {
  return `${name}:${index.join(',')}`;
}

/** The group (array name) of a key: everything before the block index. */
export function keyGroup(key: string): string {
  const i = key.lastIndexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

/** The op part of a key (the name without its token). */
export function keyOp(key: string): string {
  const g = keyGroup(key);
  const i = g.lastIndexOf('-');
  return i < 0 ? g : g.slice(0, i);
}

export function keyIndex(key: string): number[] {
  const s = key.slice(key.lastIndexOf(':') + 1);
  return s === '' ? [] : s.split(',').map(Number);
}

/** Deterministic JSON: object keys sorted, typed arrays by content hash. */
function stable(v: unknown, h: ReturnType<typeof createHash>): void {
  if (v === null || v === undefined || typeof v !== 'object') {
    // String() keeps NaN, Infinity and -0 distinct, which JSON would not.
    h.update(typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : (JSON.stringify(v) ?? 'undefined'));
    return;
  }
  if (ArrayBuffer.isView(v)) {
    h.update(`<${v.constructor.name}:${v.byteLength}>`);
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return;
  }
  if (Array.isArray(v)) {
    h.update('[');
    for (const x of v) {
      stable(x, h);
      h.update(',');
    }
    h.update(']');
    return;
  }
  h.update('{');
  for (const k of Object.keys(v).sort()) {
    h.update(JSON.stringify(k));
    h.update(':');
    stable((v as Record<string, unknown>)[k], h);
    h.update(',');
  }
  h.update('}');
}

/** A 16-hex-digit token of any JSON-like value (typed arrays included). */
export function tokenize(...parts: unknown[]): string {
  const h = createHash('sha1');
  stable(parts, h);
  return h.digest('hex').slice(0, 16);
}

/** Make an arbitrary user string (a kernel name) safe as the op part of a key. */
export function keySafe(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9_.]+/g, '_').replace(/^[^a-z]+/, '');
  return s === '' ? 'k' : s.slice(0, 40);
}
