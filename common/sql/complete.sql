-- Attempt $2 of activity $1 succeeded with input $3 and output $4 (running -> completed),
-- recorded in the attempt history. No row back when the attempt no longer runs.
WITH u AS (
  UPDATE weft_activity SET status = 'completed', input = $3, output = $4, error = NULL,
    finished_at = now()
  WHERE uid = $1 AND attempt = $2 AND status = 'running'
  RETURNING uid, attempt, worker, worker_id, started_at)
INSERT INTO weft_attempt (activity_uid, attempt, status, worker, worker_id, started_at)
SELECT uid, attempt, 'completed', worker, worker_id, started_at FROM u
ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status, error = NULL,
  finished_at = now()
RETURNING 1
