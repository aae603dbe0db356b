import type { RedisScript } from './redis-script.js';

/*
 * A graph's side keys (its event stream, its small results) are written after the fact, by
 * batches that may land after the graph ended (its keys then expire) or was released (deleted).
 * A plain XADD or HSET then would make the key again, without a TTL, for ever: these write only
 * while the graph exists, and give the side key the graph's own TTL.
 */
const onlyWhileTheGraphIs = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
`;
const sameTtl = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
`;

/** XADD one event batch to a graph's stream. KEYS: meta, events. ARGV: max entries, batch JSON. Returns the entry id, or nil (graph gone). */
export const appendEvents: RedisScript = {
  name: 'tesseraAppendEvents',
  numberOfKeys: 2,
  lua: `${onlyWhileTheGraphIs}
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
${sameTtl}
return id
`,
};

/** HSET results of a graph. KEYS: meta, results. ARGV: key, packed chunk, key, packed chunk, ... Returns 1, or nil (graph gone). */
export const putResults: RedisScript = {
  name: 'tesseraPutResults',
  numberOfKeys: 2,
  lua: `${onlyWhileTheGraphIs}
redis.call('HSET', KEYS[2], unpack(ARGV))
${sameTtl}
return 1
`,
};

/** HINCRBY a task's strikes (runs on workers that died). KEYS: meta, suspects. ARGV: task key. Returns the count, or nil (graph gone). */
export const bumpSuspect: RedisScript = {
  name: 'tesseraBumpSuspect',
  numberOfKeys: 2,
  lua: `${onlyWhileTheGraphIs}
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
${sameTtl}
return n
`,
};
