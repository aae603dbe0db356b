import type { Redis } from 'ioredis';
import {
  NotFoundError,
  TASK_STATES,
  graphKeys,
  keyGroup,
  keyOp,
  type GraphStructure,
  type GroupShape,
  type TaskState,
} from '@tessera/protocol';

/** Fields per HSCAN call: a 10^5-task graph is read in slices, never one long blocking command. */
const SCAN_COUNT = 2_000;

async function scanHash(redis: Redis, key: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(key, cursor, 'COUNT', SCAN_COUNT);
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

function zeroCounts(): Record<TaskState, number> {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
}

/**
 * A graph's shape for the dashboard, read from its state and deps hashes: its task groups (with
 * counts by state and the groups they depend on), and every task when there are at most
 * `maxTasks`. Read once per graph by a dashboard server, which follows the event feed after that.
 */
export async function readGraphStructure(redis: Redis, prefix: string, id: string, maxTasks: number): Promise<GraphStructure> {
  const keys = graphKeys(prefix, id);
  const states = await scanHash(redis, keys.state);
  if (states.size === 0 && (await redis.exists(keys.meta)) === 0) {
    throw new NotFoundError(`unknown graph ${id} (never submitted, released, or expired)`);
  }
  const deps = await scanHash(redis, keys.deps);
  const groups = new Map<string, GroupShape & { depSet: Set<string> }>();
  for (const [key, state] of states) {
    const name = keyGroup(key);
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { group: name, op: keyOp(key), total: 0, counts: zeroCounts(), deps: [], depSet: new Set() }));
    g.total++;
    if (state in g.counts) g.counts[state as TaskState] = (g.counts[state as TaskState] ?? 0) + 1;
    for (const d of deps.get(key)?.split('\n') ?? []) if (d) g.depSet.add(keyGroup(d));
  }
  const out: GraphStructure = {
    id,
    total: states.size,
    groups: [...groups.values()].map(({ depSet, ...g }) => ({ ...g, deps: [...depSet].filter((d) => d !== g.group) })),
  };
  if (states.size <= maxTasks) {
    const index = new Map([...states.keys()].map((k, i) => [k, i]));
    out.tasks = [...states].map(([key, state]) => ({
      key,
      state: (TASK_STATES as readonly string[]).includes(state) ? (state as TaskState) : 'waiting',
      deps: (deps.get(key)?.split('\n') ?? []).flatMap((d) => (index.has(d) ? [index.get(d)!] : [])),
    }));
  }
  return out;
}
