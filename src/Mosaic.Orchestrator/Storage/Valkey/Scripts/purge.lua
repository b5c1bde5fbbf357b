-- Deletes ended agents' records, meta and index entries (retention); a live agent is skipped. ARGV: 3.. agent ids.
-- Returns how many were deleted. Each agent is checked before its own writes; nothing else can fail halfway.
local deleted = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local meta = read_meta(id)
  if meta and not LIVE[meta[ST]] then
    redis.call('DEL', AGENT_ .. id)
    redis.call('HDEL', META, id)
    redis.call('ZREM', ALL, id)
    redis.call('ZREM', STATUS_INDEX_ .. meta[ST], id)
    redis.call('ZREM', TASK_INDEX_ .. meta[TASK], id)
    -- The task's TaskState names its latest agent; when that is this one, it goes too.
    local task = redis.call('GET', TASK_ .. meta[TASK])
    if task and string.find(task, id, 1, true) then
      redis.call('DEL', TASK_ .. meta[TASK])
    end
    deleted = deleted + 1
  end
end
return deleted
