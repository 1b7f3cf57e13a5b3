-- The handoff of attempt $3 of activity $2 in workflow $1 (the function is migration 002_handoff.sql):
-- one row per activity to dispatch (o_uid set) with its queue, then one row with the outcome.
-- The queue is read here, by the activity's unique uid, so that migration 002's function stays
-- as released; whichever version of the row this statement sees, an activity's queue never
-- changes.
SELECT h.o_status, h.o_outcome, h.o_uid, h.o_attempt, h.o_priority,
  (SELECT a.queue FROM weft_activity a WHERE a.uid = h.o_uid)
FROM weft_handoff($1, $2, $3) h
