import type { RedisScript } from './redis-script.js';

/** A task failed: it errs and so does its graph; the first error wins. */
export const failTask: RedisScript = {
  name: 'tesseraFailTask',
  numberOfKeys: 11,
  lua: `
--[[ failTask
  KEYS[1..8] the graph's keys: meta, spec, state, pending, waiters, deps, dependents, worker
  KEYS[9..11] its side keys: events, results, suspects (expired with it, in this script: a
    scheduler killed right after it must not leave them without a TTL)
  ARGV[1] task key, or '' when the graph failed outside any task
  ARGV[2] serialised error (JSON)   ARGV[3] now (ms, as text)
  ARGV[4] TTL in ms for the graph's keys now that it has ended (0: keep them)
  Returns 1 when the graph erred, 0 when it was not running or has no such task.
]]
local meta, state = KEYS[1], KEYS[3]
local key = ARGV[1]
if redis.call('HGET', meta, 'state') ~= 'running' then return 0 end
if key ~= '' then
  local s = redis.call('HGET', state, key)
  if not s then return 0 end
  redis.call('HSET', state, key, 'erred')
  redis.call('HINCRBY', meta, 'n:' .. s, -1)
  redis.call('HINCRBY', meta, 'n:erred', 1)
end
redis.call('HSET', meta, 'state', 'erred', 'error', ARGV[2], 'finishedAt', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
`,
};
