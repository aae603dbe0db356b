import type { RedisScript } from './redis-script.js';

/** A task's chunk is in memory: count it done, find newly ready and newly releasable tasks. */
export const completeTask: RedisScript = {
  name: 'tesseraCompleteTask',
  numberOfKeys: 8,
  lua: `
--[[ completeTask
  KEYS[1..8] the graph's keys: meta, spec, state, pending, waiters, deps, dependents, worker
  ARGV[1] task key   ARGV[2] worker id   ARGV[3] now (ms, as text)
  ARGV[4] TTL in ms for the graph's keys once it finishes (0: keep them)
  Returns {applied (0|1), finished (0|1), {ready keys}, {releasable keys}}; not applied when the
  graph is not running, the task is unknown, already done, or still has pending dependencies.
]]
local meta, state, pending, waiters, deps, dependents, worker = KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local key = ARGV[1]
local none = {0, 0, {}, {}}
if redis.call('HGET', meta, 'state') ~= 'running' then return none end
local s = redis.call('HGET', state, key)
if s ~= 'waiting' and s ~= 'queued' and s ~= 'processing' then return none end
if redis.call('HEXISTS', pending, key) == 1 then return none end

redis.call('HSET', state, key, 'memory')
redis.call('HSET', worker, key, ARGV[2])
redis.call('HINCRBY', meta, 'n:' .. s, -1)
local done = redis.call('HINCRBY', meta, 'done', 1)

-- Dependents whose last pending dependency this was are ready (pending fields vanish at 0).
local ready = {}
local list = redis.call('HGET', dependents, key)
if list then
  for d in string.gmatch(list, '[^\\n]+') do
    if redis.call('HINCRBY', pending, d, -1) <= 0 then
      redis.call('HDEL', pending, d)
      if redis.call('HGET', state, d) == 'waiting' then ready[#ready + 1] = d end
    end
  end
end

-- Dependencies no one waits for any more are released (outputs hold one waiter forever).
local releasable = {}
list = redis.call('HGET', deps, key)
if list then
  for d in string.gmatch(list, '[^\\n]+') do
    if redis.call('HINCRBY', waiters, d, -1) <= 0 then
      redis.call('HDEL', waiters, d)
      if redis.call('HGET', state, d) == 'memory' then
        redis.call('HSET', state, d, 'released')
        releasable[#releasable + 1] = d
      end
    end
  end
end
redis.call('HINCRBY', meta, 'n:memory', 1 - #releasable)
if #releasable > 0 then redis.call('HINCRBY', meta, 'n:released', #releasable) end

local finished = 0
if done == tonumber(redis.call('HGET', meta, 'total')) then
  finished = 1
  redis.call('HSET', meta, 'state', 'finished', 'finishedAt', ARGV[3])
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
return {1, finished, ready, releasable}
`,
};
