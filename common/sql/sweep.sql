-- Activities of running workflows queued (or due for retry) more than $1 seconds ago;
-- queued_at is refreshed so the next sweep does not repeat them at once.
UPDATE weft_activity a SET queued_at = now()
FROM weft_workflow w
WHERE w.uid = a.workflow_uid AND w.status = 'running'
  AND a.status IN ('queued','retrying')
  AND a.queued_at < now() - make_interval(secs => $1::float8)
RETURNING a.uid, a.attempt, a.priority, a.workflow_uid
