-- Stores a new agent, queues its task and appends its event (enqueue_entry in common.lua). ARGV: 3 agentId,
-- 4 taskId, 5 status, 6 taskState, 7 priority, 8 due (ms or ''), 9 attempt, 10 body, 11 queue fragment, 12 event body,
-- 13 max waiting. Returns {'dup', agentId} | {'full', waiting} | {'ok', sequence, eventId, waiting}.
return enqueue_entry(3, tonumber(ARGV[13]))
