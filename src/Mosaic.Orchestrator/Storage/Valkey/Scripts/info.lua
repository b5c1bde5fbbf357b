-- The server's INFO sections that the start-up check reads (through a script: the client library reserves a plain
-- INFO for admin connections, and this service needs no admin rights).
return redis.call('INFO', 'server', 'memory', 'persistence')
