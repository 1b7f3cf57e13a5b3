-- Migration 9: heartbeat_s of an activity (DESIGN §10).
-- Released: never edit; a change of schema is a new migration.

-- How long a running attempt may stay silent (no progress or heartbeat line from its task)
-- before its worker fails it TRANSIENT and replaces the task's process; 0: not watched.
ALTER TABLE weft_activity
  ADD COLUMN heartbeat_s integer NOT NULL DEFAULT 0;
