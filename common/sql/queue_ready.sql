-- Queues the ready activities of workflow $1 and returns every queued one with its queue.
WITH q AS (
  UPDATE weft_activity SET status = 'queued', queued_at = now()
  WHERE workflow_uid = $1 AND status = 'pending' AND unmet = 0
  RETURNING uid)
SELECT uid, attempt, priority, queue FROM weft_activity
WHERE workflow_uid = $1 AND (status = 'queued' OR uid IN (SELECT uid FROM q))
