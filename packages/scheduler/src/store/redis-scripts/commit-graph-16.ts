import type { RedisScript } from './redis-script.js';

/** Make a fully written staging copy of a graph visible under its real key names, or refuse. */
export const commitGraph: RedisScript = {
  name: 'tesseraCommitGraph',
  numberOfKeys: 16,
  lua: `
--[[ commitGraph
  KEYS[1..8]  the graph's keys, in GRAPH_KEY_PARTS order (meta, spec, state, pending, waiters,
              deps, dependents, worker)
  KEYS[9..16] the staging keys of this creation, same order
  ARGV[1]     number of tasks the staging spec hash must hold
  Returns  1 committed
           0 a graph with this id exists (staging deleted)
          -1 staging incomplete: a part expired or was never written (staging deleted)
]]
local function dropStaging()
  for i = 9, 16 do redis.call('UNLINK', KEYS[i]) end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  dropStaging()
  return 0
end
if redis.call('EXISTS', KEYS[9]) == 0 or redis.call('HLEN', KEYS[10]) ~= tonumber(ARGV[1]) then
  dropStaging()
  return -1
end
for i = 1, 8 do
  if redis.call('EXISTS', KEYS[i + 8]) == 1 then
    redis.call('RENAME', KEYS[i + 8], KEYS[i])
    -- RENAME carries the staging TTL over; a committed graph lives until deleted or finished.
    redis.call('PERSIST', KEYS[i])
  else
    -- An empty part (no edges, say) has no staging key; drop any stale key of that name.
    redis.call('UNLINK', KEYS[i])
  end
end
return 1
`,
};
