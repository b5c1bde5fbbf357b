-- Queue stats read in one step. ARGV: 3 now (ms). Returns {pending, active, completed, failed, killed, delayed, paused, emergency}.
local delayed = key('queue', 'delayed')
local status = function(name) return redis.call('ZCARD', key('index', 'status', name)) end
return {
  redis.call('ZCARD', key('queue', 'pending')) + redis.call('ZCOUNT', delayed, '-inf', ARGV[3]),
  redis.call('ZCARD', key('queue', 'leases')),
  status('completed'),
  status('failed'),
  status('killed'),
  redis.call('ZCOUNT', delayed, '(' .. ARGV[3], '+inf'),
  redis.call('EXISTS', key('queue', 'paused')),
  redis.call('EXISTS', key('queue', 'emergency')),
}
