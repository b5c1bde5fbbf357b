-- Takes the next due task: promotes due retries, then leases the best waiting task to the caller (assigned, attempt
-- counted, lease set), unless the queue is paused or the cluster already runs MAX_CONCURRENT_AGENTS.
-- ARGV: 3 now (ms), 4 lease expiry (ms), 5 max active, 6 owner, 7 token, 8 lease JSON.
-- Returns the leased record's document, or nil.
if redis.call('EXISTS', key('queue', 'paused')) == 1 then
  return false
end

local pending = key('queue', 'pending')
local delayed = key('queue', 'delayed')
-- Every due retry is promoted (in chunks), so the best waiting task is chosen by priority among all of them.
-- Each entry is checked before it is moved: a retry whose meta is gone stays where it is instead of vanishing.
local offset = 0
while true do
  local due_now = redis.call('ZRANGEBYSCORE', delayed, '-inf', ARGV[3], 'LIMIT', offset, 500)
  if #due_now == 0 then
    break
  end
  for _, due in ipairs(due_now) do
    local meta = key('agent', due, 'meta')
    local m = redis.call('HMGET', meta, 'pri', 'seq')
    if tonumber(m[1]) and tonumber(m[2]) then
      redis.call('ZREM', delayed, due)
      redis.call('ZADD', pending, int((10 - tonumber(m[1])) * PRIORITY_SHIFT + tonumber(m[2])), due)
      redis.call('HSET', meta, 'due', '')
    else
      offset = offset + 1
    end
  end
end

-- Leased tasks of the whole cluster (assigned or executing): MAX_CONCURRENT_AGENTS holds across instances.
if redis.call('ZCARD', key('queue', 'leases')) >= tonumber(ARGV[5]) then
  return false
end

local id = redis.call('ZRANGE', pending, 0, 0)[1]
if not id then
  return false
end

-- Read and check before the first write: a script is not rolled back.
local o = read_meta(id)
local doc = redis.call('GET', key('agent', id))
if not o or not doc or not tonumber(o.bl) then
  -- A queue entry without its record (lost outside our scripts): dropped so it cannot block the queue.
  redis.call('ZREM', pending, id)
  return false
end
redis.call('ZREM', pending, id)
local body = string.sub(doc, 1, tonumber(o.bl))
local v = tonumber(o.v) + 1
local attempt = tonumber(o.att) + 1
local n = { st = o.st, ts = 'assigned', task = o.task, seq = o.seq, pri = o.pri, due = '', att = attempt, v = v,
  tok = ARGV[7], own = ARGV[6], exp = ARGV[4], bl = o.bl }
local leased = document(body, ',"taskState":"assigned","attempt":' .. int(attempt) .. ',"lease":' .. ARGV[8], o.seq, v)
redis.call('SET', key('agent', id), leased)
write_indexes(id, o, n, true)
return leased
