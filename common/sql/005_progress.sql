-- Migration 5: the last progress of a running attempt (DESIGN §12).
-- Released: never edit; a change of schema is a new migration.

-- What a running attempt last said of itself: progress 0..100 and a message, written by its
-- worker at most about twice a second. Kept after the attempt ends; it is shown only for the
-- attempt that runs now (progress_at not before its started_at).
ALTER TABLE weft_activity
  ADD COLUMN progress real,
  ADD COLUMN progress_message text,
  ADD COLUMN progress_at timestamptz;
