import type { RedisScript } from './redis-script.js';

/** Tasks' chunks are in memory: count them done, find newly ready and newly releasable tasks. */
export const completeTasks: RedisScript = {
  name: 'tesseraCompleteTasks',
  numberOfKeys: 11,
  lua: `
--[[ completeTasks
  KEYS[1..8] the graph's keys: meta, spec, state, pending, waiters, deps, dependents, worker
  KEYS[9..11] its side keys: events, results, suspects (expired with it, in this script: a
    scheduler killed right after it must not leave them without a TTL)
  ARGV[1] now (ms, as text)   ARGV[2] TTL in ms for the graph's keys once it finishes (0: keep)
  ARGV[3], ARGV[4], ... pairs of (task key, worker id), applied in order
  Returns {finished (0|1), {applied keys}, {ready keys}, {releasable keys}, {count of releasable
  keys each applied completion freed, in order}, {packed specs of the ready keys}}. A completion is
  not applied when the graph is not running, the task is unknown, already done, or still has
  pending dependencies.
]]
local meta, spec, state, pending, waiters, deps, dependents, worker = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
if redis.call('HGET', meta, 'state') ~= 'running' then return {0, {}, {}, {}, {}, {}} end
local applied, ready, releasable, freed = {}, {}, {}, {}
local done = 0
for i = 3, #ARGV, 2 do
  local key = ARGV[i]
  local s = redis.call('HGET', state, key)
  if (s == 'waiting' or s == 'queued' or s == 'processing') and redis.call('HEXISTS', pending, key) == 0 then
    applied[#applied + 1] = key
    redis.call('HSET', state, key, 'memory')
    redis.call('HSET', worker, key, ARGV[i + 1])
    redis.call('HINCRBY', meta, 'n:' .. s, -1)
    redis.call('HINCRBY', meta, 'n:memory', 1)
    done = redis.call('HINCRBY', meta, 'done', 1)

    -- Dependents whose last pending dependency this was are ready (pending fields vanish at 0).
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
    local before = #releasable
    list = redis.call('HGET', deps, key)
    if list then
      for d in string.gmatch(list, '[^\\n]+') do
        if redis.call('HINCRBY', waiters, d, -1) <= 0 then
          redis.call('HDEL', waiters, d)
          if redis.call('HGET', state, d) == 'memory' then
            redis.call('HSET', state, d, 'released')
            redis.call('HINCRBY', meta, 'n:memory', -1)
            redis.call('HINCRBY', meta, 'n:released', 1)
            releasable[#releasable + 1] = d
          end
        end
      end
    end
    freed[#freed + 1] = #releasable - before
  end
end

local finished = 0
if #applied > 0 and done == tonumber(redis.call('HGET', meta, 'total')) then
  finished = 1
  redis.call('HSET', meta, 'state', 'finished', 'finishedAt', ARGV[1])
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then
    for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
local specs = {}
for i = 1, #ready do specs[i] = redis.call('HGET', spec, ready[i]) end
return {finished, applied, ready, releasable, freed, specs}
`,
};
