-- Run by bench/queue-scripts-instructions.sh after common.lua, inside one EVAL: the queue's script functions for N
-- tasks shaped as QueueBench's (an agent record of about 450 bytes, its agent.spawned and agent.completed events),
-- without the client, the network and the per-call work, so that what is counted is the scripts' own work.
-- ARGV: 1 prefix, 2 history length (as every script), 3 N, 4 phase. Each phase runs everything before it too, so a
-- phase's cost is its count less the count of the phase before it:
--   enqueue-args, enqueue: the arguments of N enqueues built; then also enqueued (enqueue_entry);
--   lease-args, lease: the arguments of N leases built; then also leased (lease_next, as after an attempt's end);
--   end-args, end: the arguments of N completions built; then also completed (replace).
-- 600 other live tasks, of a lower priority, are queued first, so that the keys and sets the scripts touch are not
-- small (a Redis hash or sorted set of up to 128-512 short entries is a flat list, searched end to end).
local N = tonumber(ARGV[3])
local PHASE = ARGV[4]
local T = '2026-12-05T08:09:23.2814875+00:00'
local function body(id, task, status, extra)
  return '{"agentId":"' .. id .. '","taskId":"' .. task .. '","agentType":"worker","gateProfile":"standard",'
    .. '"priority":5,"context":{"repository":"https://git.example.test/repo.git","branch":"main","workItems":["B-1"],'
    .. '"skills":[]},"status":"' .. status .. '","spawnedAt":"' .. T .. '"' .. extra
    .. ',"maxAttempts":3,"pushed":false,"isLive":true'
end

-- enqueue_entry reads its eleven arguments from ARGV[10] on.
local function enqueue_args(id, task, priority)
  ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16] = id, task, 'spawning', 'pending', priority, '', '0'
  ARGV[17] = body(id, task, 'spawning', '')
  ARGV[18] = ',"taskState":"pending","attempt":0'
  ARGV[19] = '{"type":"agent.spawned","agentId":"' .. id .. '","taskId":"' .. task .. '","timestamp":"' .. T .. '"'
  ARGV[20] = '9223372036854775807'
end

for i = 1, 600 do
  enqueue_args(string.format('01a24540-2c51-7b6a-9999-%012x', i), 'other-' .. i, '1')
  enqueue_entry(10)
end

local ids = {}
for i = 1, N do
  local id = string.format('01a24540-2c51-7b6a-8354-%012x', i)
  ids[i] = id
  enqueue_args(id, 'job-' .. i, '5')
  if PHASE ~= 'enqueue-args' then
    enqueue_entry(10)
  end
end
if PHASE == 'enqueue-args' or PHASE == 'enqueue' then
  return N
end

local leases = {}
for i = 1, N do
  local token = string.format('%032x', i)
  leases[i] = { '1796458163281', '1796458463281', '2147483647', 'bench/1', token,
    '{"owner":"bench/1","token":"' .. token .. '"}' }
end
if PHASE == 'lease-args' then
  return N
end
for i = 1, N do
  lease_next(leases[i], true)
end
if PHASE == 'lease' then
  return N
end

local ends = {}
for i = 1, N do
  local id, task = ids[i], 'job-' .. i
  ends[i] = { id, '2', '', 'completed', 'completed', '5', '', '1', '', '', '',
    body(id, task, 'completed', ',"completedAt":"' .. T .. '"'), ',"taskState":"completed","attempt":1',
    '{"type":"agent.completed","agentId":"' .. id .. '","taskId":"' .. task .. '","timestamp":"' .. T .. '"' }
end
if PHASE == 'end-args' then
  return N
end
for i = 1, N do
  if not replace(ends[i]) then
    return 'refused: ' .. ids[i]
  end
end
return N
