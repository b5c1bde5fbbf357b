-- Takes the next due task (see lease_next in common.lua). ARGV: 3 now (ms), 4 lease expiry (ms), 5 max active,
-- 6 owner, 7 token, 8 lease JSON. Returns the leased record's document, or nil.
return lease_next({ unpack(ARGV, 3, 8) }) or false
