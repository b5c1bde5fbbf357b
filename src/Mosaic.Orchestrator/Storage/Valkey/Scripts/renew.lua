-- Extends a lease while its token still holds a live task. ARGV: 3 agentId, 4 token, 5 new expiry (ms). Returns 1 or 0.
local id = ARGV[3]
local m = redis.call('HMGET', key('agent', id, 'meta'), 'tok', 'st')
if m[1] ~= ARGV[4] or not LIVE[m[2]] then
  return 0
end
redis.call('HSET', key('agent', id, 'meta'), 'exp', ARGV[5])
redis.call('ZADD', key('queue', 'leases'), ARGV[5], id)
return 1
