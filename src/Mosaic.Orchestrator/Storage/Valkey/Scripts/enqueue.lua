-- Stores a new agent, queues its task and appends its event, refusing a second live agent for the task and a full
-- queue. ARGV: 3 agentId, 4 taskId, 5 status, 6 taskState, 7 priority, 8 due (ms or ''), 9 attempt,
-- 10 body, 11 queue fragment, 12 event body, 13 max waiting.
-- Returns {'dup', agentId} | {'full', waiting} | {'ok', sequence, eventId, waiting}.
local id, task = ARGV[3], ARGV[4]
local existing = redis.call('HGET', key('queue', 'live-tasks'), task)
if existing then
  return { 'dup', existing }
end
local queued = waiting()
if queued >= tonumber(ARGV[13]) then
  return { 'full', queued }
end

local seq = redis.call('INCR', key('queue', 'seq'))
local body = ARGV[10]
local n = { st = ARGV[5], ts = ARGV[6], task = task, seq = seq, pri = ARGV[7], due = ARGV[8], att = ARGV[9], v = 1, bl = #body }
redis.call('SET', key('agent', id), document(body, ARGV[11], seq, 1))
redis.call('ZADD', key('index', 'all'), int(seq), id)
redis.call('ZADD', key('index', 'task', task), int(seq), id)
write_indexes(id, nil, n)
local event = append_event(ARGV[12])
if n.ts == 'pending' then
  queued = queued + 1
end
return { 'ok', seq, event, queued }
