-- Lost dispatches: at most $2 activities of running workflows queued (or due for retry)
-- more than $1 seconds ago, oldest first, through the partial index weft_activity_waiting.
-- queued_at is refreshed so the next sweep does not repeat them at once.
UPDATE weft_activity a SET queued_at = now()
FROM weft_workflow w
WHERE a.uid IN (SELECT x.uid FROM weft_activity x
                WHERE x.status IN ('queued','retrying')
                  AND x.queued_at < now() - make_interval(secs => $1::float8)
                ORDER BY x.queued_at LIMIT $2::integer)
  AND w.uid = a.workflow_uid AND w.status = 'running'
  AND a.status IN ('queued','retrying')
RETURNING a.uid, a.attempt, a.priority, a.queue, a.workflow_uid
