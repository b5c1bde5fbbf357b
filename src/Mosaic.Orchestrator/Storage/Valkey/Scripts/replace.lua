-- Compare-and-set of one agent record on its version (and, when given, on its lease having expired before an
-- instant), with its index moves and its event. ARGV: 3 agentId, 4 expected version, 5 lease expired before (ms or ''),
-- 6 status, 7 taskState, 8 priority, 9 due (ms or ''), 10 attempt, 11 lease token, 12 lease owner,
-- 13 new lease expiry (ms or ''), 14 body, 15 queue fragment, 16 event body ('' for none).
-- Returns {version, eventId} or nil when the condition failed.
local id = ARGV[3]
local o = read_meta(id)
if not o or o.v ~= ARGV[4] then
  return false
end
if not empty(ARGV[5]) and (empty(o.exp) or tonumber(o.exp) >= tonumber(ARGV[5])) then
  return false
end

-- A lease keeps its expiry while its token is unchanged (renewals only touch the expiry).
local token = ARGV[11]
local expiry = ''
if not empty(token) then
  if not empty(ARGV[13]) then
    expiry = ARGV[13]
  elseif token == o.tok then
    expiry = o.exp
  end
end

local v = tonumber(o.v) + 1
local body = ARGV[14]
local n = { st = ARGV[6], ts = ARGV[7], task = o.task, seq = o.seq, pri = ARGV[8], due = ARGV[9], att = ARGV[10], v = v,
  tok = token, own = ARGV[12], exp = expiry, bl = #body }
redis.call('SET', key('agent', id), document(body, ARGV[15], o.seq, v))
write_indexes(id, o, n)
return { v, append_event(ARGV[16]) }
