-- An attempt's end and its slot's next task in one step (BullMQ's moveToFinished does the same): the compare-and-set
-- of replace, then, only when it was stored, lease_next for the same worker slot (which leaves the cluster's last free
-- slot to the other instances when one of them was refused for the cap lately). A refused compare-and-set writes
-- nothing and leases nothing. ARGV: 3-16 as replace.lua, then 17 now (ms), 18 lease expiry (ms), 19 max active,
-- 20 owner, 21 token, 22 lease JSON.
-- Returns {version, eventId, leased document or false}, or nil when the condition failed.
local stored = replace({ unpack(ARGV, 3, 16) })
if not stored then
  return false
end
return { stored[1], stored[2], lease_next({ unpack(ARGV, 17, 22) }, true) or false }
