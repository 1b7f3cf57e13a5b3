-- The handoff of attempt $3 of activity $2 in workflow $1 (the function is migration
-- 010_compose.sql): one row per activity to dispatch (o_uid set) with its queue, one per parent
-- activity whose handoff is due (o_outcome 'parent', with its workflow), then one row with the
-- outcome. Queue and workflow are read here by the activity's unique uid, as subqueries: a
-- join would be planned against the function's guessed 1000 rows as a scan of the table.
-- Whichever version of the row this statement sees, neither ever changes.
SELECT h.o_status, h.o_outcome, h.o_uid, h.o_attempt, h.o_priority,
  (SELECT a.queue FROM weft_activity a WHERE a.uid = h.o_uid),
  CASE WHEN h.o_outcome = 'parent'
    THEN (SELECT a.workflow_uid FROM weft_activity a WHERE a.uid = h.o_uid) END
FROM weft_handoff($1, $2, $3) h
