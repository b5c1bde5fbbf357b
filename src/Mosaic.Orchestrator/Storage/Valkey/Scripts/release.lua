-- Gives the node's name back at a graceful stop, if this instance still holds it. ARGV: 3 node, 4 instance.
local name = key('node', ARGV[3])
if redis.call('GET', name) == ARGV[4] then
  redis.call('DEL', name)
  return 1
end
return 0
