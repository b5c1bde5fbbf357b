-- enqueue.lua for many entries in one call, in order, each refused or queued on its own: an earlier entry of a task
-- makes a later one a duplicate (its live-task entry is written before the next entry is read), and the queue can
-- fill part-way. ARGV: 3 max waiting, then ten per entry from 4 on (enqueue.lua's 3-12).
-- Returns enqueue.lua's reply for each entry, in order.
local max_waiting = tonumber(ARGV[3])
local replies = {}
for a = 4, #ARGV, 10 do
  replies[#replies + 1] = enqueue_entry(a, max_waiting)
end
return replies
