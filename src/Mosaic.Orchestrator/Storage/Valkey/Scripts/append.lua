-- Appends an event that goes with no state change. ARGV: 3 event body. Returns the event id.
return append_event(ARGV[3])
