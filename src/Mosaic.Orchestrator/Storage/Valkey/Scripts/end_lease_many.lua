-- An attempt's end and its slot's next task in one step (BullMQ's moveToFinished does the same), for each entry in
-- order: the compare-and-set of replace, then, only when it was stored, lease_next for the same worker slot (which
-- leaves the cluster's last free slot to the other instances when one of them was refused for the cap lately). A
-- refused compare-and-set writes nothing and leases nothing. ARGV: twenty per entry from 3 on: replace.lua's 3-16,
-- then now (ms), lease expiry (ms), max active, owner, token, lease JSON.
-- Returns, for each entry in order, {version, eventId, leased document or false}, or false when the condition failed.
return each_entry(3, 20, function(a)
  local stored = replace({ unpack(ARGV, a, a + 13) })
  if not stored then
    return false
  end
  return { stored[1], stored[2], lease_next({ unpack(ARGV, a + 14, a + 19) }, true) or false }
end)
