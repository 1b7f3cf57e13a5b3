-- The handoff of attempt $3 of activity $2 in workflow $1 (the function is migration 002_handoff.sql):
-- one row per activity to dispatch (o_uid set), then one row with the outcome.
SELECT o_status, o_outcome, o_uid, o_attempt, o_priority FROM weft_handoff($1, $2, $3)
