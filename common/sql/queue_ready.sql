-- Queues the ready activities of workflow $1 and returns every queued one with its queue.
-- A map's waiting instances stay pending: the map releases them (map_resume.sql). A workflow
-- with a cap (migration 10) queues only as many as leave at most max_parallel queued or
-- running, in definition order, and its counts are set anew from the rows.
WITH w AS (
  SELECT max_parallel AS cap FROM weft_workflow WHERE uid = $1),
busy AS (
  SELECT count(*) AS n FROM weft_activity
  WHERE workflow_uid = $1 AND map_parent IS NULL AND status IN ('queued', 'running', 'retrying')),
ready AS (
  SELECT idx FROM weft_activity
  WHERE workflow_uid = $1 AND status = 'pending' AND unmet = 0
    AND map_parent IS NULL -- a map's instances wait for their map to release them
  ORDER BY idx
  LIMIT (SELECT CASE WHEN w.cap > 0 THEN greatest(0, w.cap - busy.n) END FROM w, busy)),
q AS (
  UPDATE weft_activity a SET status = 'queued', queued_at = now()
  FROM ready WHERE a.workflow_uid = $1 AND a.idx = ready.idx
  RETURNING a.uid),
counts AS (
  UPDATE weft_workflow x SET inflight = (SELECT n FROM busy) + (SELECT count(*) FROM q),
    held = (SELECT count(*) FROM weft_activity h WHERE h.workflow_uid = $1
            AND h.status = 'pending' AND h.unmet = 0 AND h.map_parent IS NULL)
           - (SELECT count(*) FROM q),
    held_next = 0
  FROM w WHERE x.uid = $1 AND w.cap > 0
  RETURNING 1)
SELECT uid, attempt, priority, queue FROM weft_activity
WHERE workflow_uid = $1 AND (status = 'queued' OR uid IN (SELECT uid FROM q))
