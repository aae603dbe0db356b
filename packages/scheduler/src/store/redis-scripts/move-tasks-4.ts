import type { RedisScript } from './redis-script.js';

/** waiting → queued, or queued → processing, for a batch of tasks of one graph. */
export const moveTasks: RedisScript = {
  name: 'tesseraMoveTasks',
  numberOfKeys: 4,
  lua: `
--[[ moveTasks
  KEYS[1] meta   KEYS[2] state   KEYS[3] pending   KEYS[4] worker
  ARGV[1] from state   ARGV[2] to state   ARGV[3] worker id   ARGV[4..] task keys
  Moves each task that is in the from state (or, towards processing, a waiting task with no
  pending dependency: a worker may report a start before the queued mark lands).
  Returns the number of tasks moved, or -1 when the graph does not exist.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local from, to, worker = ARGV[1], ARGV[2], ARGV[3]
local moved = 0
for i = 4, #ARGV do
  local key = ARGV[i]
  local s = redis.call('HGET', KEYS[2], key)
  if s == from or (to == 'processing' and s == 'waiting' and redis.call('HEXISTS', KEYS[3], key) == 0) then
    redis.call('HSET', KEYS[2], key, to)
    redis.call('HSET', KEYS[4], key, worker)
    redis.call('HINCRBY', KEYS[1], 'n:' .. s, -1)
    moved = moved + 1
  end
end
if moved > 0 then redis.call('HINCRBY', KEYS[1], 'n:' .. to, moved) end
return moved
`,
};
