-- Claims or keeps the name of this node for this instance: one live instance per NODE_ID. ARGV: 3 node, 4 instance,
-- 5 time to live (ms). Returns the instance holding the name (the caller, unless another live instance has it).
local name = key('node', ARGV[3])
local holder = redis.call('GET', name)
if holder and holder ~= ARGV[4] then
  return holder
end
redis.call('SET', name, ARGV[4], 'PX', ARGV[5])
return ARGV[4]
