-- Queues the ready activities of workflow $1 and returns every queued one with its queue.
-- A map's waiting instances stay pending: the map releases them (map_resume.sql).
WITH q AS (
  UPDATE weft_activity SET status = 'queued', queued_at = now()
  WHERE workflow_uid = $1 AND status = 'pending' AND unmet = 0
    AND map_parent IS NULL -- a map's instances wait for their map to release them
  RETURNING uid)
SELECT uid, attempt, priority, queue FROM weft_activity
WHERE workflow_uid = $1 AND (status = 'queued' OR uid IN (SELECT uid FROM q))
