-- Migration 4: attempt leases, and indexes for the sweeper.
-- Released: never edit; a change of schema is a new migration.

-- A running attempt is leased to its worker until lease_until; the worker renews the lease
-- while the task runs. A worker that acknowledged its message early (an attempt longer
-- than the broker lets a delivery stay unacknowledged) leaves nothing in the broker to
-- redeliver when it dies: the expired lease is then the only sign, and the sweeper fails
-- the attempt as lost.
ALTER TABLE weft_activity ADD COLUMN lease_until timestamptz;

-- The sweeper's three questions, each answered from a small partial index instead of the
-- whole history: leases that expired, terminal attempts not handed off, and (the existing
-- weft_activity_waiting) work queued for long.
CREATE INDEX weft_activity_leased ON weft_activity (lease_until)
  WHERE status = 'running';
CREATE INDEX weft_activity_unhanded ON weft_activity (finished_at)
  WHERE status IN ('completed','failed') AND NOT handed_off;
