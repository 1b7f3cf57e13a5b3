-- The handoff of attempt $3 of activity $2 in workflow $1 (see 004_handoff_set_based.sql):
-- one row per activity to dispatch (o_uid set), then one row with the outcome.
SELECT o_status, o_outcome, o_uid, o_attempt, o_priority FROM weft_handoff($1, $2, $3)
