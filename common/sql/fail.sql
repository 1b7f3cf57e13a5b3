-- Attempt $2 of activity $1 failed with error $3. $4: retry (running -> retrying with the
-- next attempt, due after $5 ms: queued_at holds the due time for the sweeper), else
-- running -> failed. Returns the activity's attempt after the change.
WITH u AS (
  UPDATE weft_activity SET
    status = CASE WHEN $4 THEN 'retrying' ELSE 'failed' END,
    attempt = attempt + CASE WHEN $4 THEN 1 ELSE 0 END,
    retries = retries + CASE WHEN $4 THEN 1 ELSE 0 END, error = $3,
    finished_at = CASE WHEN $4 THEN NULL ELSE now() END,
    queued_at = CASE WHEN $4 THEN now() + make_interval(secs => $5::float8 / 1000.0) END
  WHERE uid = $1 AND attempt = $2 AND status = 'running'
  RETURNING uid, attempt, worker, started_at),
h AS (
  INSERT INTO weft_attempt (activity_uid, attempt, status, error, worker, started_at)
  SELECT uid, $2, 'failed', $3, worker, started_at FROM u
  ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,
    error = excluded.error, finished_at = now())
SELECT attempt FROM u
