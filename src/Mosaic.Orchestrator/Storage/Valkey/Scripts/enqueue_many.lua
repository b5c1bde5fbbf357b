-- Enqueues (enqueue_entry in common.lua) each entry in order, each refused or queued on its own: an earlier entry of
-- a task makes a later one a duplicate (the task's state, which the check reads, is written before the next entry is
-- read), and the queue can fill part-way. ARGV: eleven per entry from 3 on (enqueue_entry's arguments).
-- Returns, for each entry in order, {'dup', agentId} | {'full', waiting} | {'ok', sequence, eventId, waiting}.
return each_entry(3, 11, enqueue_entry)
