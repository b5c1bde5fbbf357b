-- Queue stats read in one step. ARGV: 3 now (ms). Returns {pending, active, completed, failed, killed, delayed, paused, emergency}.
local status = function(name) return redis.call('ZCARD', STATUS_INDEX_ .. name) end
return {
  redis.call('ZCARD', PENDING) + redis.call('ZCOUNT', DELAYED, '-inf', ARGV[3]),
  redis.call('ZCARD', LEASES),
  status('completed'),
  status('failed'),
  status('killed'),
  redis.call('ZCOUNT', DELAYED, '(' .. ARGV[3], '+inf'),
  redis.call('EXISTS', PAUSED),
  redis.call('EXISTS', key('queue', 'emergency')),
}
