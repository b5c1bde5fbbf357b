-- Extends a lease while its token still holds a live task. ARGV: 3 agentId, 4 token, 5 new expiry (ms). Returns 1 or 0.
local id = ARGV[3]
local m = read_meta(id)
if not m or m[TOK] ~= ARGV[4] or not LIVE[m[ST]] then
  return 0
end
m[EXP] = ARGV[5]
write_meta(id, m)
redis.call('ZADD', LEASES, ARGV[5], id)
return 1
