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

local function key(...)
  return P .. ':' .. table.concat({ ... }, ':')
end

local function empty(value)
  return value == nil or value == false or value == ''
end

-- Integers as plain digits: Lua 5.1 would print large numbers in exponent form.
local function int(value)
  return string.format('%d', tonumber(value))
end

local function json_string(value)
  local escaped = string.gsub(value, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    return string.format('\\u%04x', string.byte(c))
  end)
  return '"' .. escaped .. '"'
end

local function read_meta(id)
  local flat = redis.call('HGETALL', key('agent', id, 'meta'))
  if #flat == 0 then
    return nil
  end
  local meta = {}
  for i = 1, #flat, 2 do
    meta[flat[i]] = flat[i + 1]
  end
  return meta
end

-- The record document is the body (every field the store does not own, without its closing brace), the queue
-- fragment (taskState, attempt, nextAttemptAt, lease) and the two fields only scripts assign.
local function document(body, queue_fragment, seq, version)
  return body .. queue_fragment .. ',"sequence":' .. int(seq) .. ',"version":' .. int(version) .. '}'
end

-- Moves agent `id` from its old index entries (meta `o`, nil for a new agent) to those of `n`, and stores `n` as
-- the agent's meta. n: st (status), ts (task state), task, seq, pri, due, att, v, tok, own, exp, bl. `popped`: the
-- caller already took the agent out of the pending set. Counts come from the sets themselves (ZCARD), so a
-- transition touches only the sets it moves between: the fewer calls a script makes, the faster the queue.
local function write_indexes(id, o, n, popped)
  local seq = int(n.seq)
  if not o or o.st ~= n.st then
    if o then
      redis.call('ZREM', key('index', 'status', o.st), id)
    end
    redis.call('ZADD', key('index', 'status', n.st), seq, id)
  end

  local was_live = o ~= nil and LIVE[o.st] == true
  local is_live = LIVE[n.st] == true
  if is_live and not was_live then
    redis.call('HSET', key('queue', 'live-tasks'), n.task, id)
  elseif was_live and not is_live then
    -- One live agent per task, so the task's entry is this agent's.
    redis.call('HDEL', key('queue', 'live-tasks'), n.task)
  end

  -- A task waits in `delayed` while it has a due time, in `pending` once due (promotion clears the due time).
  local was_waiting = o ~= nil and o.ts == 'pending' and not popped
  local is_waiting = n.ts == 'pending'
  local stays = was_waiting and is_waiting and o.due == (n.due or '') and o.pri == int(n.pri)
  if was_waiting and not stays then
    redis.call('ZREM', key('queue', empty(o.due) and 'pending' or 'delayed'), id)
  end
  if is_waiting and not stays then
    if empty(n.due) then
      redis.call('ZADD', key('queue', 'pending'), int((10 - tonumber(n.pri)) * PRIORITY_SHIFT + tonumber(n.seq)), id)
    else
      redis.call('ZADD', key('queue', 'delayed'), n.due, id)
    end
  end

  if not empty(n.tok) and not empty(n.exp) then
    redis.call('ZADD', key('queue', 'leases'), n.exp, id)
  elseif o and not empty(o.tok) and not empty(o.exp) then
    redis.call('ZREM', key('queue', 'leases'), id)
  end

  redis.call('HSET', key('agent', id, 'meta'), 'v', int(n.v), 'st', n.st, 'ts', n.ts, 'task', n.task, 'seq', seq,
    'pri', int(n.pri), 'att', int(n.att), 'bl', int(n.bl), 'due', n.due or '', 'tok', n.tok or '', 'own', n.own or '',
    'exp', n.exp or '')

  -- The task's view (SPEC's orchestrator:task:{taskId}) follows its live agent, and keeps its end.
  if is_live or was_live then
    redis.call('SET', key('task', n.task), '{"taskId":' .. json_string(n.task) .. ',"agentId":"' .. id .. '","state":"'
      .. n.ts .. '","agentStatus":"' .. n.st .. '","priority":' .. int(n.pri) .. ',"attempt":' .. int(n.att) .. '}')
  end
end

-- Waiting tasks (pending and delayed): the MAX_QUEUED_TASKS count.
local function waiting()
  return redis.call('ZCARD', key('queue', 'pending')) + redis.call('ZCARD', key('queue', 'delayed'))
end

-- Appends an event (its JSON without the id and the closing brace) to the history and publishes it; the id comes
-- from one counter, so ids grow in the order events are committed and published. `counter_checked`: an earlier
-- append of the same script already checked the counter (nothing else runs between the two).
local function append_event(body, counter_checked)
  if empty(body) then
    return 0
  end
  local id = redis.call('INCR', key('events', 'seq'))
  -- The counter must stay above the history's last id (the counter could be lost to eviction or a restore while
  -- the stream was not): an XADD refused after this script's earlier writes would half-apply the transition.
  local log = key('events', 'log')
  if not counter_checked and redis.call('EXISTS', log) == 1 then
    local info = redis.call('XINFO', 'STREAM', log)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local last = tonumber(string.match(info[i + 1], '^(%d+)'))
        if last and id <= last then
          id = last + 1
          redis.call('SET', key('events', 'seq'), id)
        end
      end
    end
  end
  local json = body .. ',"id":' .. int(id) .. '}'
  redis.call('XADD', key('events', 'log'), 'MAXLEN', '~', EVENTS_MAX, int(id) .. '-0', 'e', json)
  redis.call('PUBLISH', key('events'), json)
  return id
end

-- Stores a new agent, queues its task and appends its agent.spawned event, refusing a second live agent for the task
-- and a full queue (enqueue.lua, enqueue_many.lua). ARGV from `a` on: agentId, taskId, status, taskState, priority,
-- due (ms or ''), attempt, body, queue fragment, event body. `counter_checked` as for append_event.
-- Returns {'dup', agentId} | {'full', waiting} | {'ok', sequence, eventId, waiting}.
local function enqueue_entry(a, max_waiting, counter_checked)
  local id, task = ARGV[a], ARGV[a + 1]
  local existing = redis.call('HGET', key('queue', 'live-tasks'), task)
  if existing then
    return { 'dup', existing }
  end
  local queued = waiting()
  if queued >= max_waiting then
    return { 'full', queued }
  end

  local seq = redis.call('INCR', key('queue', 'seq'))
  local body = ARGV[a + 7]
  local n = { st = ARGV[a + 2], ts = ARGV[a + 3], task = task, seq = seq, pri = ARGV[a + 4], due = ARGV[a + 5], att = ARGV[a + 6], v = 1, bl = #body }
  redis.call('SET', key('agent', id), document(body, ARGV[a + 8], seq, 1))
  redis.call('ZADD', key('index', 'all'), int(seq), id)
  redis.call('ZADD', key('index', 'task', task), int(seq), id)
  write_indexes(id, nil, n)
  local event = append_event(ARGV[a + 9], counter_checked)
  if n.ts == 'pending' then
    queued = queued + 1
  end
  return { 'ok', seq, event, queued }
end
