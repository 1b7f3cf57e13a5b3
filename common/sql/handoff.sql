-- The handoff of attempt $3 of activity $2 in workflow $1 (the function is migration
-- 009_compose.sql): one row per activity to dispatch (o_uid set) with its queue, one per parent
-- activity whose handoff is due (o_outcome 'parent', with its workflow), then one row with the
-- outcome. The queue and workflow are read here, by the activity's unique uid; whichever
-- version of the row this statement sees, neither ever changes.
SELECT h.o_status, h.o_outcome, h.o_uid, h.o_attempt, h.o_priority, a.queue, a.workflow_uid
FROM weft_handoff($1, $2, $3) h
LEFT JOIN LATERAL (SELECT x.queue, x.workflow_uid FROM weft_activity x WHERE x.uid = h.o_uid) a
  ON true
