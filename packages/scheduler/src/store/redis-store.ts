import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  GRAPH_KEY_PARTS,
  InvalidArgumentError,
  NotFoundError,
  RedisFullError,
  UnavailableError,
  isRedisOom,
  TASK_STATES,
  graphIndexKey,
  graphKeys,
  graphSideKeys,
  graphStagingKeys,
  unpackTaskSpec,
  type Graph,
  type GraphKeys,
  type GraphState,
  type SerializedError,
  type TaskSpec,
  type TaskState,
} from '@tessera/protocol';
import { layOutGraph } from './redis-graph-layout.js';
import { cancelGraph } from './redis-scripts/cancel-graph-11.js';
import { commitGraph } from './redis-scripts/commit-graph-16.js';
import { completeTasks } from './redis-scripts/complete-tasks-11.js';
import { failTask } from './redis-scripts/fail-task-11.js';
import { moveTasks } from './redis-scripts/move-tasks-4.js';
import { recoverTasks } from './redis-scripts/recover-tasks-8.js';
import { runScript, type RedisScript } from './redis-scripts/redis-script.js';
import type { Completion, CompletionResult, GraphRecord, RecoveryResult, ResumeState, Store } from './store.js';

export interface RedisStoreOptions {
  /** Every key starts with `<prefix>:`. */
  prefix: string;
  /** Once a graph finishes, errs or is cancelled its keys expire after this many ms (default: kept until deleteGraph). */
  endedGraphTtlMs?: number;
  /** A half-written graph (its writer died) vanishes after this many ms. Default 10 minutes. */
  stagingTtlMs?: number;
}

/** Hash fields per HSET/HMGET and task keys per script call: bounded argument lists. */
const CHUNK = 2_000;

/**
 * The Store of cluster mode: every graph and task state lives in Redis, so a restarted scheduler
 * (a new RedisStore on the same Redis and prefix) carries on where the last one stopped. Each
 * transition is one Lua script over one graph's keys, which share a hash tag (one Cluster slot).
 * The caller owns the connection.
 */
export class RedisStore implements Store {
  private readonly prefix: string;
  private readonly endedTtl: number;
  private readonly stagingTtl: number;

  constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions,
  ) {
    this.prefix = options.prefix;
    this.endedTtl = options.endedGraphTtlMs ?? 0;
    this.stagingTtl = options.stagingTtlMs ?? 10 * 60_000;
    graphIndexKey(this.prefix); // rejects a bad prefix now rather than at first use
  }

  /**
   * A graph of 10^5 tasks is too big for one script call (its arguments alone would block Redis
   * and balloon the request), so it is written in pipelined chunks under staging keys that carry
   * a TTL, then one script renames them onto the real names. Until that commit nothing reads it:
   * readers and scripts see the graph whole or not at all, and a writer that dies leaves only
   * staging keys that expire. The id is indexed before the commit so a graph is never running
   * unlisted; listGraphs skips (and later prunes) an id whose graph is not there.
   */
  async createGraph(id: string, graph: Graph, options: { persist: boolean; now: number }): Promise<{ ready: string[] }> {
    const keys = graphKeys(this.prefix, id);
    if ((await this.redis.exists(keys.meta)) === 1) throw new InvalidArgumentError(`graph ${id} already exists`);
    const layout = layOutGraph(graph);
    const staging = graphStagingKeys(this.prefix, id, randomUUID());
    const meta: Record<string, string> = {
      state: 'running' satisfies GraphState,
      total: String(graph.tasks.length),
      done: '0',
      outputs: JSON.stringify(graph.outputs),
      persist: options.persist ? '1' : '0',
      submittedAt: String(options.now),
    };
    for (const s of TASK_STATES) meta[`n:${s}`] = s === 'waiting' ? String(graph.tasks.length) : '0';

    try {
      await this.stage(graph, layout, staging, meta, id);
    } catch (e) {
      // Nothing half-written stays behind (DEL is allowed at maxmemory: it frees memory); a
      // graph that already existed keeps its place in the index.
      await this.redis.del(...all(staging)).catch(() => undefined);
      if (!(e instanceof InvalidArgumentError)) await this.redis.zrem(graphIndexKey(this.prefix), id).catch(() => undefined);
      if (isRedisOom(e)) {
        throw new RedisFullError(
          `Redis is full (its maxmemory is reached): graph ${id} of ${graph.tasks.length} tasks was not accepted and nothing of it was kept; running graphs go on, and a graph submitted once they have freed memory is accepted`,
          { cause: e },
        );
      }
      throw e;
    }
    return { ready: layout.ready };
  }

  /** The graph's hashes under staging keys (with a TTL), then committed to its own keys in one script. */
  private async stage(graph: Graph, layout: ReturnType<typeof layOutGraph>, staging: GraphKeys, meta: Record<string, string>, id: string): Promise<void> {
    const keys = graphKeys(this.prefix, id);
    let pipe = this.redis.pipeline();
    for (const [part, flat] of Object.entries(layout.hashes)) {
      const key = staging[part as keyof GraphKeys];
      for (let i = 0; i < flat.length; i += 2 * CHUNK) {
        pipe.hset(key, ...flat.slice(i, i + 2 * CHUNK));
        pipe.pexpire(key, this.stagingTtl);
        // Flush now and then: a pipeline of a whole 10^5-task graph would sit in client memory twice.
        if (pipe.length >= 64) {
          await execOrThrow(pipe);
          pipe = this.redis.pipeline();
        }
      }
    }
    pipe.hset(staging.meta, meta);
    pipe.pexpire(staging.meta, this.stagingTtl);
    await execOrThrow(pipe);
    // Not in the pipeline: the index is in another slot of a Redis Cluster than the graph.
    await this.redis.zadd(graphIndexKey(this.prefix), 'NX', Date.now(), id);

    const committed = await this.run(commitGraph, [...all(keys), ...all(staging)], [graph.tasks.length]);
    if (committed === 0) throw new InvalidArgumentError(`graph ${id} already exists`);
    if (committed !== 1) throw new UnavailableError(`graph ${id} was not fully written before its staging keys expired`);
  }

  async getGraph(id: string): Promise<GraphRecord | undefined> {
    return decodeGraph(id, await this.redis.hgetall(graphKeys(this.prefix, id).meta));
  }

  async listGraphs(): Promise<GraphRecord[]> {
    const index = graphIndexKey(this.prefix);
    const entries = await this.redis.zrange(index, 0, -1, 'WITHSCORES');
    const ids: string[] = [];
    const addedAt: number[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      ids.push(entries[i]!);
      addedAt.push(Number(entries[i + 1]));
    }
    // One command per graph, not a pipeline: in a Cluster each graph may live on another node.
    const records = await Promise.all(ids.map((id) => this.getGraph(id)));
    // A missing graph was deleted, expired, or is still being written; only past the staging
    // TTL is it surely gone, and then its id leaves the index.
    const stale = ids.filter((_, i) => !records[i] && addedAt[i]! < Date.now() - this.stagingTtl);
    if (stale.length) await this.redis.zrem(index, ...stale);
    return records.filter((g): g is GraphRecord => g !== undefined);
  }

  async getTasks(id: string, keys: readonly string[]): Promise<TaskSpec[]> {
    const spec = graphKeys(this.prefix, id).spec;
    const out: TaskSpec[] = [];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const values = await this.redis.hmgetBuffer(spec, ...chunk);
      for (let j = 0; j < chunk.length; j++) {
        const v = values[j];
        if (!v) throw new NotFoundError((await this.getGraph(id)) ? `graph ${id} has no task ${chunk[j]}` : `no graph ${id}`);
        out.push(unpackTaskSpec(chunk[j]!, v));
      }
    }
    return out;
  }

  async getTaskState(id: string, key: string): Promise<{ state: TaskState; worker?: string } | undefined> {
    const keys = graphKeys(this.prefix, id);
    // MULTI: state and worker read at one instant, never across a transition.
    const replies = (await this.redis.multi().hget(keys.state, key).hget(keys.worker, key).exec()) ?? [];
    const [state, worker] = replies.map(([err, v]) => {
      if (err) throw err;
      return v as string | null;
    });
    if (state === null || state === undefined) return undefined;
    return worker === null || worker === undefined ? { state: state as TaskState } : { state: state as TaskState, worker };
  }

  async stateCounts(id: string): Promise<Record<TaskState, number>> {
    const meta = await this.redis.hgetall(graphKeys(this.prefix, id).meta);
    if (!meta.state) throw new NotFoundError(`no graph ${id}`);
    return Object.fromEntries(TASK_STATES.map((s) => [s, Number(meta[`n:${s}`] ?? 0)])) as Record<TaskState, number>;
  }

  async markQueued(id: string, keys: readonly string[], worker: string): Promise<void> {
    await this.move(id, keys, 'waiting', 'queued', worker);
  }

  async markProcessing(id: string, keys: readonly string[], worker: string): Promise<void> {
    await this.move(id, keys, 'queued', 'processing', worker);
  }

  async completeTasks(id: string, completions: readonly Completion[], now: number): Promise<CompletionResult> {
    const keys = this.endingKeys(id);
    const out: CompletionResult = { applied: [], ready: [], readySpecs: [], releasable: [], freed: [], finished: false };
    const str = (bs: Buffer[]): string[] => bs.map((b) => b.toString());
    for (let i = 0; i < completions.length; i += CHUNK) {
      const args: (string | number)[] = [String(now), this.endedTtl];
      for (const c of completions.slice(i, i + CHUNK)) args.push(c.key, c.worker);
      // Buffer replies: the ready tasks' specs are packed binary.
      const r = (await this.run(completeTasks, keys, args, true)) as [number, Buffer[], Buffer[], Buffer[], number[], Buffer[]];
      out.applied.push(...str(r[1]));
      const ready = str(r[2]);
      out.ready.push(...ready);
      ready.forEach((k, j) => out.readySpecs.push(unpackTaskSpec(k, r[5][j]!)));
      out.releasable.push(...str(r[3]));
      out.freed.push(...r[4]);
      if (r[0] === 1) out.finished = true;
    }
    return out;
  }

  async recoverTasks(id: string, lost: readonly string[], dropped: readonly string[]): Promise<RecoveryResult | undefined> {
    const r = (await this.run(recoverTasks, all(graphKeys(this.prefix, id)), [lost.length, ...lost, ...dropped])) as
      -1 | [string[], string[]];
    return r === -1 ? undefined : { ready: r[0], moved: r[1] };
  }

  async resumeState(id: string): Promise<ResumeState> {
    const k = graphKeys(this.prefix, id);
    // One MULTI: the three hashes read at one instant. Done once per graph at scheduler start.
    const replies = (await this.redis.multi().hgetall(k.state).hgetall(k.pending).hgetall(k.worker).exec()) ?? [];
    const [state, pending, worker] = replies.map(([err, v]) => {
      if (err) throw err;
      return v as Record<string, string>;
    }) as [Record<string, string>, Record<string, string>, Record<string, string>];
    const r: ResumeState = { memory: [], active: [], ready: [] };
    for (const [key, s] of Object.entries(state)) {
      if (s === 'memory') r.memory.push({ key, worker: worker[key] ?? '' });
      else if (s === 'queued' || s === 'processing') r.active.push({ key, state: s, worker: worker[key] ?? '' });
      else if (s === 'waiting' && pending[key] === undefined) r.ready.push(key);
    }
    return r;
  }

  async failTask(id: string, key: string | undefined, error: SerializedError, now: number): Promise<boolean> {
    return (await this.run(failTask, this.endingKeys(id), [key ?? '', JSON.stringify(error), String(now), this.endedTtl])) === 1;
  }

  async cancelGraph(id: string, now: number): Promise<boolean> {
    return (await this.run(cancelGraph, this.endingKeys(id), [String(now), this.endedTtl])) === 1;
  }

  async deleteGraph(id: string): Promise<void> {
    // One UNLINK of keys in one slot is atomic; the index entry goes after the graph.
    const side = graphSideKeys(this.prefix, id);
    await this.redis.unlink(...all(graphKeys(this.prefix, id)), side.events, side.results, side.suspects);
    await this.redis.zrem(graphIndexKey(this.prefix), id);
  }

  /** The keys of the scripts that may end a graph: its hashes, then its side keys (expired with them). */
  private endingKeys(id: string): string[] {
    const side = graphSideKeys(this.prefix, id);
    return [...all(graphKeys(this.prefix, id)), side.events, side.results, side.suspects];
  }

  private async move(id: string, keys: readonly string[], from: TaskState, to: TaskState, worker: string): Promise<void> {
    const k = graphKeys(this.prefix, id);
    // Every chunk's script is written before this returns its promise: a caller may pipeline a
    // command that must follow the move on this connection (the dispatcher's job add).
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < keys.length; i += CHUNK)
      calls.push(this.run(moveTasks, [k.meta, k.state, k.pending, k.worker], [from, to, worker, ...keys.slice(i, i + CHUNK)]));
    for (const moved of await Promise.all(calls)) if (moved === -1) throw new NotFoundError(`no graph ${id}`);
  }

  private run(script: RedisScript, keys: readonly string[], args: readonly (string | number)[], buffers = false): Promise<unknown> {
    return runScript(this.redis, script, keys, args, buffers);
  }
}

/** A graph's keys in GRAPH_KEY_PARTS order, the order every script's KEYS follow. */
function all(keys: GraphKeys): string[] {
  return GRAPH_KEY_PARTS.map((p) => keys[p]);
}

async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await pipe.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
}

function decodeGraph(id: string, m: Record<string, string>): GraphRecord | undefined {
  if (!m.state) return undefined;
  const g: GraphRecord = {
    id,
    state: m.state as GraphState,
    total: Number(m.total),
    done: Number(m.done),
    outputs: JSON.parse(m.outputs ?? '[]') as string[],
    persist: m.persist === '1',
    submittedAt: Number(m.submittedAt),
  };
  if (m.finishedAt !== undefined) g.finishedAt = Number(m.finishedAt);
  if (m.error !== undefined) g.error = JSON.parse(m.error) as SerializedError;
  return g;
}
