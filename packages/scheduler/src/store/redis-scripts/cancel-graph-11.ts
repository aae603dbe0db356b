import type { RedisScript } from './redis-script.js';

/** running → cancelled, once. */
export const cancelGraph: RedisScript = {
  name: 'tesseraCancelGraph',
  numberOfKeys: 11,
  lua: `
--[[ cancelGraph
  KEYS[1..8] the graph's keys: meta, spec, state, pending, waiters, deps, dependents, worker
  KEYS[9..11] its side keys: events, results, suspects (expired with it, in this script: a
    scheduler killed right after it must not leave them without a TTL)
  ARGV[1] now (ms, as text)   ARGV[2] TTL in ms for the graph's keys now that it has ended (0: keep)
  Returns 1 when the graph was running and is now cancelled, else 0.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
`,
};
