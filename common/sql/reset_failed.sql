-- Resume of workflow $1: failed and canceled activities go back to pending; only those
-- already counted as terminal (canceled, or failed with their handoff done) give back to
-- `remaining`.
WITH r AS (
  UPDATE weft_activity a SET status = 'pending', attempt = a.attempt + 1, retries = 0,
    error = NULL, handed_off = false, started_at = NULL, finished_at = NULL
  FROM weft_activity old
  WHERE a.workflow_uid = $1 AND a.status IN ('failed','canceled')
    AND old.workflow_uid = a.workflow_uid AND old.idx = a.idx
  RETURNING (old.status = 'canceled' OR old.handed_off) AS counted)
UPDATE weft_workflow SET status = 'running', error = NULL, finished_at = NULL,
  updated_at = now(), remaining = remaining + (SELECT count(*) FROM r WHERE counted)
WHERE uid = $1
