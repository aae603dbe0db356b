import type { RedisScript } from './redis-script.js';

/**
 * Chunks were lost (their worker died) and tasks were dropped with it: put back to waiting what
 * must run again, recomputing lost or released chunks from lineage where still needed.
 */
export const recoverTasks: RedisScript = {
  name: 'tesseraRecoverTasks',
  numberOfKeys: 8,
  lua: `
--[[ recoverTasks
  KEYS[1..8] the graph's keys: meta, spec, state, pending, waiters, deps, dependents, worker
  ARGV[1] n, the number of lost keys; ARGV[2..n+1] lost keys (chunks gone: tasks in memory on a
  dead worker); ARGV[n+2..] dropped keys (queued or processing where they will not complete).
  A lost chunk still needed goes back to waiting, and so, transitively, does every released or
  lost dependency it needs to be recomputed. Dependents that had counted a reset task done wait
  for it again; queued or processing ones among them go back to waiting. Dropped tasks go back
  to waiting. Returns {{ready keys (waiting, nothing pending)}, {moved keys (were queued or
  processing, now waiting)}}, or -1 when the graph is not running.
]]
local meta, state, pending, waiters, deps, dependents, worker = KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
if redis.call('HGET', meta, 'state') ~= 'running' then return -1 end
local n = tonumber(ARGV[1])
local lost, reset, order = {}, {}, {}
for i = 2, n + 1 do lost[ARGV[i]] = true end

local function list(hash, key)
  local out = {}
  local s = redis.call('HGET', hash, key)
  if s then for k in string.gmatch(s, '[^\\n]+') do out[#out + 1] = k end end
  return out
end

local function move(key, from, to)
  redis.call('HSET', state, key, to)
  redis.call('HINCRBY', meta, 'n:' .. from, -1)
  redis.call('HINCRBY', meta, 'n:' .. to, 1)
end

-- Phase 1: the set of done tasks (memory or released) that must run again.
local stack = {}
for i = 2, n + 1 do
  if redis.call('HGET', state, ARGV[i]) == 'memory' then stack[#stack + 1] = ARGV[i] end
end
while #stack > 0 do
  local k = table.remove(stack)
  if not reset[k] then
    reset[k] = true
    order[#order + 1] = k
    for _, d in ipairs(list(deps, k)) do
      local s = redis.call('HGET', state, d)
      if not reset[d] and (s == 'released' or (s == 'memory' and lost[d])) then stack[#stack + 1] = d end
    end
  end
end

-- Phase 2: back to waiting, no longer done, no longer anywhere.
for _, k in ipairs(order) do
  move(k, redis.call('HGET', state, k), 'waiting')
  redis.call('HINCRBY', meta, 'done', -1)
  redis.call('HDEL', worker, k)
end

-- Phase 3: pending counts of reset tasks; their dependencies are waited for again; dependents
-- that had counted them done (and are not done themselves) wait for them again.
local moved, touched = {}, {}
for _, k in ipairs(order) do
  local p = 0
  for _, d in ipairs(list(deps, k)) do
    redis.call('HINCRBY', waiters, d, 1)
    if redis.call('HGET', state, d) ~= 'memory' then p = p + 1 end
  end
  if p > 0 then redis.call('HSET', pending, k, p) else redis.call('HDEL', pending, k) end
  touched[#touched + 1] = k
  for _, d in ipairs(list(dependents, k)) do
    if not reset[d] then
      local s = redis.call('HGET', state, d)
      if s == 'waiting' or s == 'queued' or s == 'processing' then
        redis.call('HINCRBY', pending, d, 1)
        if s ~= 'waiting' then
          move(d, s, 'waiting')
          redis.call('HDEL', worker, d)
          moved[#moved + 1] = d
        end
      end
    end
  end
end

-- Phase 4: dropped tasks go back to waiting.
for i = n + 2, #ARGV do
  local k = ARGV[i]
  local s = redis.call('HGET', state, k)
  if s == 'queued' or s == 'processing' then
    move(k, s, 'waiting')
    redis.call('HDEL', worker, k)
    moved[#moved + 1] = k
  end
  touched[#touched + 1] = k
end

local ready, seen = {}, {}
for _, k in ipairs(touched) do
  if not seen[k] and redis.call('HGET', state, k) == 'waiting' and redis.call('HEXISTS', pending, k) == 0 then
    ready[#ready + 1] = k
  end
  seen[k] = true
end
for _, k in ipairs(moved) do
  if not seen[k] and redis.call('HGET', state, k) == 'waiting' and redis.call('HEXISTS', pending, k) == 0 then
    ready[#ready + 1] = k
  end
  seen[k] = true
end
return {ready, moved}
`,
};
