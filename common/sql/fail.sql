-- Attempt $2 of activity $1 failed with error $3. $4: retry (running -> retrying with the
-- next attempt, due after $5 ms: queued_at holds the due time for the claim and the
-- sweeper), else running -> failed. A retry is only granted while the workflow runs: in a
-- workflow that failed meanwhile nothing would ever claim it, so the activity fails for
-- good instead. The workflow row is locked (FOR SHARE) before the activity row, the order
-- the handoff locks them in: a handoff failing the workflow at the same time either sees
-- the retry and cancels it, or is seen here. $6: only if the attempt's lease expired (the
-- sweeper failing a lost attempt must not race a worker that renewed it). Returns the
-- activity's attempt and status after the change.
WITH w AS (
  SELECT w.status = 'running' AS running FROM weft_workflow w
  WHERE w.uid = (SELECT a.workflow_uid FROM weft_activity a WHERE a.uid = $1)
  FOR SHARE),
u AS (
  UPDATE weft_activity SET
    status = CASE WHEN r.retry THEN 'retrying' ELSE 'failed' END,
    attempt = attempt + CASE WHEN r.retry THEN 1 ELSE 0 END,
    retries = retries + CASE WHEN r.retry THEN 1 ELSE 0 END, error = $3,
    finished_at = CASE WHEN r.retry THEN NULL ELSE now() END,
    queued_at = CASE WHEN r.retry THEN now() + make_interval(secs => $5::float8 / 1000.0) END
  FROM (SELECT $4::boolean AND coalesce((SELECT running FROM w), false) AS retry) r
  WHERE uid = $1 AND attempt = $2 AND status = 'running'
    AND (NOT $6::boolean OR lease_until < now())
  RETURNING uid, attempt, status, worker, worker_id, started_at),
h AS (
  INSERT INTO weft_attempt (activity_uid, attempt, status, error, worker, worker_id, started_at)
  SELECT uid, $2, 'failed', $3, worker, worker_id, started_at FROM u
  ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,
    error = excluded.error, finished_at = now())
SELECT attempt, status FROM u
