-- A stopping worker gives attempt $2 of activity $1 back: running -> queued, to be run by
-- the message's redelivery without counting a failure; or, when its workflow no longer
-- runs (nothing would claim it), running -> canceled and counted as terminal, as the
-- handoff counts what it cancels, so no activity of a finished workflow stays
-- non-terminal. The workflow row is locked first, the order the handoff locks in. Returns
-- whether it was canceled.
WITH w AS (
  SELECT w.uid, w.status = 'running' AS running FROM weft_workflow w
  WHERE w.uid = (SELECT a.workflow_uid FROM weft_activity a WHERE a.uid = $1)
  FOR UPDATE),
a AS (
  UPDATE weft_activity a SET
    status = CASE WHEN w.running THEN 'queued' ELSE 'canceled' END,
    started_at = NULL, worker = NULL, worker_id = NULL, lease_until = NULL,
    queued_at = CASE WHEN w.running THEN now() END,
    finished_at = CASE WHEN w.running THEN NULL ELSE now() END
  FROM w
  WHERE a.uid = $1 AND a.attempt = $2 AND a.status = 'running'
  RETURNING a.status = 'canceled' AS canceled),
c AS (
  UPDATE weft_workflow x SET remaining = x.remaining - 1
  FROM w WHERE x.uid = w.uid AND (SELECT canceled FROM a))
SELECT canceled FROM a
