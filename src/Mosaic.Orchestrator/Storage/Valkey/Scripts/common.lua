-- Shared by every script (prepended by ValkeyScripts). ARGV[1] is the key prefix, ARGV[2] the length the event
-- history is trimmed to; each script's own arguments start at ARGV[3].
-- Keys are built from the prefix, so these scripts run on a standalone server or a primary with replicas, not on
-- Redis Cluster. Every script reads and checks everything before its first write: Redis does not roll a script
-- back, so a script that refuses must refuse before it has changed anything.
local P = ARGV[1]
local EVENTS_MAX = ARGV[2]
local LIVE = { spawning = true, running = true }
-- Waiting order: priority 10 first, then arrival. 2^43 leaves room for 8.8e12 arrivals per priority and keeps
-- every score an exact integer in a double.
local PRIORITY_SHIFT = 8796093022208

-- One to three parts after the prefix, concatenated directly (a table and table.concat per key cost more).
local function key(a, b, c)
  if c ~= nil then
    return P .. ':' .. a .. ':' .. b .. ':' .. c
  elseif b ~= nil then
    return P .. ':' .. a .. ':' .. b
  end
  return P .. ':' .. a
end

-- The keys every call of the queue's scripts uses, built once per call instead of once per use.
local PENDING = key('queue', 'pending')
local DELAYED = key('queue', 'delayed')
local LEASES = key('queue', 'leases')
local ALL = key('index', 'all')
local EVENT_SEQ = key('events', 'seq')
local EVENT_LOG = key('events', 'log')
local EVENT_CHANNEL = key('events')
local QUEUE_SEQ = key('queue', 'seq')
local PAUSED = key('queue', 'paused')
local HUNGRY = key('queue', 'hungry')
-- Prefixes of the per-agent and per-task keys, completed by a plain concatenation (a call of key() costs three times
-- as much, and the queue's scripts build a dozen of these keys per task).
local AGENT_ = P .. ':agent:'
local TASK_ = P .. ':task:'
local STATUS_INDEX_ = P .. ':index:status:'
local TASK_INDEX_ = P .. ':index:task:'

local function empty(value)
  return value == nil or value == false or value == ''
end

-- A number as plain digits: Lua 5.1 would print a large one in exponent form. Formatting costs about as many
-- instructions as calling a simple command, so each number is formatted once, where it is computed; the client's
-- arguments and the meta hold integers as digits already.
local function int(number)
  return string.format('%d', number)
end

local function json_string(value)
  if not string.find(value, '[%c"\\]') then
    return '"' .. value .. '"'
  end
  local escaped = string.gsub(value, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    return string.format('\\u%04x', string.byte(c))
  end)
  return '"' .. escaped .. '"'
end

-- Each agent's meta (what the scripts compare and index, so that they never parse the record's JSON) is one field of
-- one hash, {prefix}:meta, its values joined by a control character (task ids and lease owners hold none; the owner,
-- free text, comes last). Until 2026-12 it was a hash per agent ({prefix}:agent:{id}:meta): a key per agent, a
-- 25-argument HSET on every write and an HGETALL (the costliest call of the queue's scripts) on every read.
local META = P .. ':meta'
-- A meta table holds the values in the packed field's order, at these positions (an array is cheaper to build than a
-- table of named fields, and every script builds a few per task). Each value is a string, as stored: read back, or
-- formatted once where a script computes it ('' for none).
local V, ST, TS, TASK, SEQ, PRI, ATT, BL, DUE, TOK, EXP, OWN = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
local META_FORMAT = '^([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31(.*)$'

local function write_meta(id, m)
  redis.call('HSET', META, id, table.concat(m, '\31', V, OWN))
end

-- An agent stored before the packed meta has its own hash: read from there, and moved to the packed field on this
-- first read, so that a store written by an earlier version needs no migration step (the move changes where the
-- meta is, not what it says, so it may precede a script's checks).
local function read_old_meta(id)
  local old = key('agent', id, 'meta')
  local flat = redis.call('HGETALL', old)
  if #flat == 0 then
    return nil
  end
  local positions = { v = V, st = ST, ts = TS, task = TASK, seq = SEQ, pri = PRI, att = ATT, bl = BL, due = DUE, tok = TOK,
    exp = EXP, own = OWN }
  local meta = { '', '', '', '', '', '', '', '', '', '', '', '' }
  for i = 1, #flat, 2 do
    if positions[flat[i]] then
      meta[positions[flat[i]]] = flat[i + 1]
    end
  end
  write_meta(id, meta)
  redis.call('DEL', old)
  return meta
end

local function read_meta(id)
  local packed = redis.call('HGET', META, id)
  if not packed then
    return read_old_meta(id)
  end
  return { string.match(packed, META_FORMAT) }
end

-- The record document is the body (every field the store does not own, without its closing brace), the queue
-- fragment (taskState, attempt, nextAttemptAt, lease) and the two fields only scripts assign (as digits).
local function document(body, queue_fragment, seq, version)
  return body .. queue_fragment .. ',"sequence":' .. seq .. ',"version":' .. version .. '}'
end

-- Moves agent `id` from its old index entries (meta table `o`, nil for a new agent) to those of meta table `n`, and
-- stores `n` as the agent's meta. `popped`: the caller already took the agent out of the pending set. Counts come
-- from the sets themselves (ZCARD), so a transition touches only the sets it moves between: the fewer calls a script
-- makes, the faster the queue.
local function write_indexes(id, o, n, popped)
  local seq = n[SEQ]
  if not o or o[ST] ~= n[ST] then
    if o then
      redis.call('ZREM', STATUS_INDEX_ .. o[ST], id)
    end
    redis.call('ZADD', STATUS_INDEX_ .. n[ST], seq, id)
  end

  local was_live = o ~= nil and LIVE[o[ST]] == true
  local is_live = LIVE[n[ST]] == true
  -- A task waits in `delayed` while it has a due time, in `pending` once due (promotion clears the due time).
  local was_waiting = o ~= nil and o[TS] == 'pending' and not popped
  local is_waiting = n[TS] == 'pending'
  local stays = was_waiting and is_waiting and o[DUE] == n[DUE] and o[PRI] == n[PRI]
  if was_waiting and not stays then
    redis.call('ZREM', empty(o[DUE]) and PENDING or DELAYED, id)
  end
  if is_waiting and not stays then
    if empty(n[DUE]) then
      redis.call('ZADD', PENDING, int((10 - tonumber(n[PRI])) * PRIORITY_SHIFT + tonumber(n[SEQ])), id)
    else
      redis.call('ZADD', DELAYED, n[DUE], id)
    end
  end

  if not empty(n[TOK]) and not empty(n[EXP]) then
    redis.call('ZADD', LEASES, n[EXP], id)
  elseif o and not empty(o[TOK]) and not empty(o[EXP]) then
    redis.call('ZREM', LEASES, id)
  end

  write_meta(id, n)

  -- The task's view (SPEC's orchestrator:task:{taskId}) follows its live agent, and keeps its end. It is also what
  -- the one-live-agent-per-task check reads (enqueue_entry), so it is written on every move into, within or out of
  -- the live statuses.
  if is_live or was_live then
    redis.call('SET', TASK_ .. n[TASK], '{"taskId":' .. json_string(n[TASK]) .. ',"agentId":"' .. id .. '","state":"'
      .. n[TS] .. '","agentStatus":"' .. n[ST] .. '","priority":' .. n[PRI] .. ',"attempt":' .. n[ATT] .. '}')
  end
end

-- Waiting tasks (pending and delayed): the MAX_QUEUED_TASKS count.
local function waiting()
  return redis.call('ZCARD', PENDING) + redis.call('ZCARD', DELAYED)
end

-- Appends an event (its JSON without the id and the closing brace) to the history and publishes it; the id comes
-- from one counter, so ids grow in the order events are committed and published.
local function append_event(body)
  if empty(body) then
    return 0
  end
  local seq, log = EVENT_SEQ, EVENT_LOG
  local id = redis.call('INCR', seq)
  local digits = int(id)
  local json = body .. ',"id":' .. digits .. '}'
  local added = redis.pcall('XADD', log, 'MAXLEN', '~', EVENTS_MAX, digits .. '-0', 'e', json)
  if type(added) == 'table' and added.err then
    -- The counter fell behind the history's last id (lost to eviction or a restore while the stream was not): XADD
    -- refused before writing anything, so the counter moves past the last id and the event is added again; this
    -- script's earlier writes are not left half applied. Looked up only then: XINFO STREAM is costly on every event.
    local last = nil
    local info = redis.call('XINFO', 'STREAM', log)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        last = tonumber(string.match(info[i + 1], '^(%d+)'))
      end
    end
    if not last or id > last then
      error(added.err) -- refused for another reason: fail as a plain XADD would have
    end
    id = last + 1
    redis.call('SET', seq, id)
    digits = int(id)
    json = body .. ',"id":' .. digits .. '}'
    redis.call('XADD', log, 'MAXLEN', '~', EVENTS_MAX, digits .. '-0', 'e', json)
  end
  redis.call('PUBLISH', EVENT_CHANNEL, json)
  return id
end

-- Stores a new agent, queues its task and appends its agent.spawned event, refusing a second live agent for the task
-- and a full queue (enqueue_many.lua). ARGV from `a` on: agentId, taskId, status, taskState, priority, due (ms or ''),
-- attempt, body, queue fragment, event body, max waiting.
-- Returns {'dup', agentId} | {'full', waiting} | {'ok', sequence, eventId, waiting}.
local function enqueue_entry(a)
  local max_waiting = tonumber(ARGV[a + 10])
  local id, task = ARGV[a], ARGV[a + 1]
  -- One live agent per task: the task's view names its latest agent and that agent's status. Until 2026-12 a hash
  -- (queue:live-tasks) kept the same answer, at a write on every start and end of a task.
  local view = redis.call('GET', TASK_ .. task)
  if view and LIVE[string.match(view, '"agentStatus":"(%a+)"')] then
    return { 'dup', string.match(view, '"agentId":"([^"]+)"') }
  end
  local queued = waiting()
  if queued >= max_waiting then
    return { 'full', queued }
  end

  local sequence = redis.call('INCR', QUEUE_SEQ)
  local seq = int(sequence)
  local body = ARGV[a + 7]
  local n = { '1', ARGV[a + 2], ARGV[a + 3], task, seq, ARGV[a + 4], ARGV[a + 6], int(#body), ARGV[a + 5], '', '', '' }
  redis.call('SET', AGENT_ .. id, document(body, ARGV[a + 8], seq, '1'))
  redis.call('ZADD', ALL, seq, id)
  redis.call('ZADD', TASK_INDEX_ .. task, seq, id)
  write_indexes(id, nil, n)
  local event = append_event(ARGV[a + 9])
  if n[TS] == 'pending' then
    queued = queued + 1
  end
  return { 'ok', sequence, event, queued }
end

-- Compare-and-set of one agent record on its version (and, when given, on its lease having expired before an
-- instant), with its index moves and its event. a: 1 agentId, 2 expected version, 3 lease expired before (ms or ''),
-- 4 status, 5 taskState, 6 priority, 7 due (ms or ''), 8 attempt, 9 lease token, 10 lease owner,
-- 11 new lease expiry (ms or ''), 12 body, 13 queue fragment, 14 event body ('' for none).
-- Returns {version, eventId} or nil when the condition failed (then nothing was written).
local function replace(a)
  local id = a[1]
  local o = read_meta(id)
  if not o or o[V] ~= a[2] then
    return nil
  end
  if not empty(a[3]) and (empty(o[EXP]) or tonumber(o[EXP]) >= tonumber(a[3])) then
    return nil
  end

  -- A lease keeps its expiry while its token is unchanged (renewals only touch the expiry).
  local token = a[9]
  local expiry = ''
  if not empty(token) then
    if not empty(a[11]) then
      expiry = a[11]
    elseif token == o[TOK] then
      expiry = o[EXP]
    end
  end

  local version = tonumber(o[V]) + 1
  local v = int(version)
  local body = a[12]
  local n = { v, a[4], a[5], o[TASK], o[SEQ], a[6], a[8], int(#body), a[7], token, expiry, a[10] }
  redis.call('SET', AGENT_ .. id, document(body, a[13], o[SEQ], v))
  write_indexes(id, o, n)
  return { version, append_event(a[14]) }
end

-- Takes the next due task: promotes due retries, then leases the best waiting task to the caller (assigned, attempt
-- counted, lease set), unless the queue is paused or the cluster already runs MAX_CONCURRENT_AGENTS.
-- a: 1 now (ms), 2 lease expiry (ms), 3 max active, 4 owner, 5 token, 6 lease JSON. `with_end`: the caller's own
-- attempt just ended and gave its slot up (end_lease_many.lua).
-- Returns the leased record's document, or nil.
local function lease_next(a, with_end)
  if redis.call('EXISTS', PAUSED) == 1 then
    return nil
  end

  local pending, delayed = PENDING, DELAYED
  -- Every due retry is promoted (in chunks), so the best waiting task is chosen by priority among all of them.
  -- Each entry is checked before it is moved: a retry whose meta is gone stays where it is instead of vanishing.
  -- Looked for only when some retry waits: on a missing key EXISTS costs a third of ZRANGEBYSCORE, on every lease.
  local offset = redis.call('EXISTS', delayed) == 1 and 0 or nil
  while offset do
    local due_now = redis.call('ZRANGEBYSCORE', delayed, '-inf', a[1], 'LIMIT', offset, 500)
    if #due_now == 0 then
      break
    end
    for _, due in ipairs(due_now) do
      local m = read_meta(due)
      if m and tonumber(m[PRI]) and tonumber(m[SEQ]) then
        redis.call('ZREM', delayed, due)
        redis.call('ZADD', pending, int((10 - tonumber(m[PRI])) * PRIORITY_SHIFT + tonumber(m[SEQ])), due)
        m[DUE] = ''
        write_meta(due, m)
      else
        offset = offset + 1
      end
    end
  end

  -- Leased tasks of the whole cluster (assigned or executing): MAX_CONCURRENT_AGENTS holds across instances.
  local leased_now = redis.call('ZCARD', LEASES)
  if leased_now >= tonumber(a[3]) then
    -- Refused for the cap while tasks wait: noted (owner -> until a lease's time from now), so that instances ending
    -- attempts do not take the freed slots straight back and keep this one waiting for good.
    if not with_end and redis.call('ZCARD', pending) > 0 then
      redis.call('ZADD', HUNGRY, a[2], a[4])
    end
    return nil
  end
  if with_end and leased_now + 1 >= tonumber(a[3]) then
    -- The cluster's last free slot, while another instance waits for one: left to the loops' race, as without this call.
    redis.call('ZREMRANGEBYSCORE', HUNGRY, '-inf', a[1])
    for _, waiting_owner in ipairs(redis.call('ZRANGE', HUNGRY, 0, -1)) do
      if waiting_owner ~= a[4] then
        return nil
      end
    end
  end

  -- The best waiting task leaves the pending set whatever the checks below find: a queue entry without its record
  -- (lost outside our scripts) is dropped so that it cannot block the queue. The checks only read.
  local id = redis.call('ZPOPMIN', pending)[1]
  if not id then
    return nil
  end
  local o = read_meta(id)
  local doc = redis.call('GET', AGENT_ .. id)
  if not o or not doc or not tonumber(o[BL]) then
    return nil
  end
  local body = string.sub(doc, 1, tonumber(o[BL]))
  local v = int(tonumber(o[V]) + 1)
  local attempt = int(tonumber(o[ATT]) + 1)
  local n = { v, o[ST], 'assigned', o[TASK], o[SEQ], o[PRI], attempt, o[BL], '', a[5], a[2], a[4] }
  local leased = document(body, ',"taskState":"assigned","attempt":' .. attempt .. ',"lease":' .. a[6], o[SEQ], v)
  redis.call('SET', AGENT_ .. id, leased)
  write_indexes(id, o, n, true)
  redis.call('ZREM', HUNGRY, a[4]) -- served
  return leased
end

-- Runs `entry` on each `width` arguments from ARGV[first] on, in order: the scripts of calls the client sends
-- together (ValkeyBatchedScript). Each entry runs under pcall, so one that fails answers its own error and the others
-- still run, as they would have in calls of their own (an entry that fails after a write keeps that write, as a script
-- of its own would: Redis does not roll scripts back). Returns two values per entry, 1 and its reply, or 0 and its
-- error: clients refuse an error nested in a reply.
local function each_entry(first, width, entry)
  local replies = {}
  for a = first, #ARGV, width do
    local ok, reply = pcall(entry, a)
    if ok then
      replies[#replies + 1] = 1
    else
      replies[#replies + 1] = 0
      reply = type(reply) == 'table' and reply.err or tostring(reply)
    end
    replies[#replies + 1] = reply
  end
  return replies
end
