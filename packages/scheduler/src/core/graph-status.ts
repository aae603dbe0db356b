import type { GraphStatus } from '@tessera/protocol';
import type { GraphRecord, Store } from '../store/store.js';

/** A graph's status as the API answers it: its record and its task counts by state. */
export async function graphStatus(store: Store, g: GraphRecord): Promise<GraphStatus> {
  const s: GraphStatus = {
    id: g.id,
    state: g.state,
    total: g.total,
    done: g.done,
    counts: await store.stateCounts(g.id).catch(() => ({})),
    outputs: g.outputs.length,
    persist: g.persist,
    submittedAt: g.submittedAt,
  };
  if (g.finishedAt !== undefined) s.finishedAt = g.finishedAt;
  if (g.error) s.error = g.error;
  return s;
}
