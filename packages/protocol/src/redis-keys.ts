/**
 * Every Redis key name Tessera uses, built in one place so the scheduler, tools and tests agree.
 *
 * One graph's keys carry the graph id as a hash tag (`{id}`), so a Redis Cluster keeps them in
 * one slot and a Lua script may touch all of them. Everything sits under a configurable prefix
 * (tests use a unique one each), and neither the prefix nor an id may contain a brace, which
 * would move the hash tag.
 */

/** The hashes that hold one graph. Order matters: scripts receive them as KEYS in this order. */
export const GRAPH_KEY_PARTS = [
  /** hash: state, total, done, outputs, persist, submittedAt, finishedAt, error, n:<task state> counts */
  'meta',
  /** hash: task key → msgpack task spec */
  'spec',
  /** hash: task key → task state name */
  'state',
  /** hash: task key → dependencies not yet in memory (field absent when 0) */
  'pending',
  /** hash: task key → dependents not yet in memory, +1 for an output (field absent when 0) */
  'waiters',
  /** hash: task key → its unique dependencies, newline-separated (absent when none) */
  'deps',
  /** hash: task key → the tasks that depend on it, newline-separated (absent when none) */
  'dependents',
  /** hash: task key → worker id that queued, runs or holds it */
  'worker',
] as const;
export type GraphKeyPart = (typeof GRAPH_KEY_PARTS)[number];
export type GraphKeys = Readonly<Record<GraphKeyPart, string>>;

function checkName(what: string, s: string): void {
  if (s === '' || /[{}]/.test(s)) throw new Error(`Redis ${what} must be non-empty and contain no braces: ${JSON.stringify(s)}`);
}

function build(base: string): GraphKeys {
  return Object.fromEntries(GRAPH_KEY_PARTS.map((p) => [p, `${base}:${p}`])) as Record<GraphKeyPart, string>;
}

/** The keys of graph `graphId`. */
export function graphKeys(prefix: string, graphId: string): GraphKeys {
  checkName('key prefix', prefix);
  checkName('graph id', graphId);
  return build(`${prefix}:graph:{${graphId}}`);
}

/**
 * Where a graph is written before it becomes visible: same hash tag as the graph, so the commit
 * can RENAME each staging key onto its real name inside one script.
 */
export function graphStagingKeys(prefix: string, graphId: string, nonce: string): GraphKeys {
  checkName('key prefix', prefix);
  checkName('graph id', graphId);
  checkName('staging nonce', nonce);
  return build(`${prefix}:graph:{${graphId}}:staging:${nonce}`);
}

/**
 * Where the keys of the cluster itself sit (workers, heartbeats, reports, control lists, the
 * graph index, BullMQ's queues): one hash tag, so a Redis Cluster keeps them in one slot and a
 * transaction over several of them (a worker leaving, frees for many workers) never spans slots.
 * The prefix stays first, so `<prefix>:*` still matches every key of a deployment.
 */
export function clusterBase(prefix: string): string {
  checkName('key prefix', prefix);
  return `${prefix}:{cluster}`;
}

/** Set of graph ids under a prefix. Kept beside, never inside, a graph's scripts (another slot). */
export function graphIndexKey(prefix: string): string {
  return `${clusterBase(prefix)}:graphs`;
}

/**
 * Keys beside a graph's hashes, same hash tag: its capped event stream, small results that rode
 * along with completions, and how often each task was running on a worker that died.
 */
export function graphSideKeys(prefix: string, graphId: string): { events: string; results: string; suspects: string } {
  checkName('key prefix', prefix);
  checkName('graph id', graphId);
  const base = `${prefix}:graph:{${graphId}}`;
  return { events: `${base}:events`, results: `${base}:results`, suspects: `${base}:suspects` };
}
