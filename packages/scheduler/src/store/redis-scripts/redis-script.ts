import type { Redis } from 'ioredis';

/**
 * A Lua script run by EVALSHA (ioredis's defineCommand keeps the SHA and falls back to EVAL once
 * when Redis answers NOSCRIPT, e.g. after a restart). Scripts are TypeScript string constants, not
 * .lua files: tsc does not copy .lua files into dist, and a constant needs no file lookup at run
 * time. Each file is named for its script and carries the key count, as BullMQ's .lua files do.
 */
export interface RedisScript {
  /** Command name on the connection; prefixed so it never shadows a Redis command. */
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

type ScriptCall = (...keysThenArgs: (string | number | Buffer)[]) => Promise<unknown>;

/** Define `script` on `redis` (idempotent) and run it with KEYS then ARGV. */
export async function runScript(
  redis: Redis,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
  /** Bulk replies as Buffers (ioredis's `<name>Buffer` variant), for binary values. */
  buffers = false,
): Promise<unknown> {
  if (keys.length !== script.numberOfKeys) throw new Error(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  const commands = redis as unknown as Record<string, ScriptCall | undefined>;
  const name = buffers ? `${script.name}Buffer` : script.name;
  let call = commands[name];
  if (!call) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    call = commands[name]!;
  }
  return call.call(redis, ...keys, ...args);
}
