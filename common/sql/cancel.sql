-- Cancels workflow $1 with reason $2 (DESIGN §12): pending or running -> canceled, error
-- 'canceled: REASON', and its pending, queued and retrying activities canceled with it,
-- counted terminal as the handoff counts what it cancels. Running attempts are left to
-- their workers: the notification on channel weft_cancel, sent only if this commits, tells
-- them to stop (a worker that misses it learns it when it next renews the lease), and a
-- result that still arrives dispatches nothing, as in a failed workflow. weft_workflow is
-- notified too, for `weft wait`. A terminal workflow is left as it is. One row: the status
-- before, and whether this canceled it; no row for an unknown workflow.
WITH w AS (
  SELECT uid, status FROM weft_workflow WHERE uid = $1 FOR UPDATE),
c AS (
  UPDATE weft_activity a SET status = 'canceled', finished_at = now()
  FROM w WHERE a.workflow_uid = w.uid AND w.status IN ('pending', 'running')
    AND (a.status IN ('pending', 'queued', 'retrying')
      -- maps and child activities waiting (running with no lease): no worker would stop them
      OR (a.status = 'running' AND a.lease_until IS NULL))
  RETURNING 1),
u AS (
  UPDATE weft_workflow x SET status = 'canceled', error = 'canceled: ' || $2::text,
    finished_at = now(), updated_at = now(),
    remaining = x.remaining - (SELECT count(*) FROM c)
  FROM w WHERE x.uid = w.uid AND w.status IN ('pending', 'running')
  RETURNING x.uid),
n AS (
  SELECT pg_notify('weft_cancel', uid::text), pg_notify('weft_workflow', uid::text) FROM u)
SELECT w.status, (SELECT count(*) FROM n) > 0 FROM w
