-- Compare-and-set of one agent record (see replace in common.lua). ARGV: 3 agentId, 4 expected version,
-- 5 lease expired before (ms or ''), 6 status, 7 taskState, 8 priority, 9 due (ms or ''), 10 attempt, 11 lease token,
-- 12 lease owner, 13 new lease expiry (ms or ''), 14 body, 15 queue fragment, 16 event body ('' for none).
-- Returns {version, eventId} or nil when the condition failed.
return replace({ unpack(ARGV, 3, 16) }) or false
