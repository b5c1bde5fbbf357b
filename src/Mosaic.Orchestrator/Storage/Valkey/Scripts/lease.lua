-- Takes the next due task: promotes due retries, then leases the best waiting task to the caller (assigned, attempt
-- counted, lease set), unless the queue is paused or the cluster already runs MAX_CONCURRENT_AGENTS.
-- ARGV: 3 now (ms), 4 lease expiry (ms), 5 max active, 6 owner, 7 token, 8 lease JSON.
-- Returns the leased record's document, or nil.
if redis.call('EXISTS', key('queue', 'paused')) == 1 then
  return false
end

local pending = key('queue', 'pending')
local delayed = key('queue', 'delayed')
for _, due in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', ARGV[3], 'LIMIT', 0, 500)) do
  local meta = key('agent', due, 'meta')
  local m = redis.call('HMGET', meta, 'pri', 'seq')
  redis.call('ZREM', delayed, due)
  redis.call('ZADD', pending, int((10 - tonumber(m[1])) * PRIORITY_SHIFT + tonumber(m[2])), due)
  redis.call('HSET', meta, 'due', '')
end

-- Leased tasks of the whole cluster (assigned or executing): MAX_CONCURRENT_AGENTS holds across instances.
if redis.call('ZCARD', key('queue', 'leases')) >= tonumber(ARGV[5]) then
  return false
end

local id = redis.call('ZPOPMIN', pending)[1]
if not id then
  return false
end

local o = read_meta(id)
local doc = redis.call('GET', key('agent', id))
local body = string.sub(doc, 1, tonumber(o.bl))
local v = tonumber(o.v) + 1
local attempt = tonumber(o.att) + 1
local n = { st = o.st, ts = 'assigned', task = o.task, seq = o.seq, pri = o.pri, due = '', att = attempt, v = v,
  tok = ARGV[7], own = ARGV[6], exp = ARGV[4], bl = o.bl }
local leased = document(body, ',"taskState":"assigned","attempt":' .. int(attempt) .. ',"lease":' .. ARGV[8], o.seq, v)
redis.call('SET', key('agent', id), leased)
write_indexes(id, o, n, true)
return leased
