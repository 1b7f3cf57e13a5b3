-- Where activity $1 stands, for a message that could not claim it: due_in_ms is how long a
-- retrying activity still waits for its retry (0 once due); workflow_running whether its
-- workflow runs; the queue its attempts travel on; last, whether it waits for a map's
-- instances or a child workflow (running with no lease: nothing runs it).
SELECT a.workflow_uid, a.status, a.attempt, a.handed_off, a.priority, a.retries,
  a.max_retries, a.initial_delay_ms, a.backoff, a.max_delay_ms,
  CASE WHEN a.status = 'retrying' THEN greatest(0, ceil(1000 *
    extract(epoch FROM coalesce(a.queued_at, now()) - now())))::integer ELSE 0 END,
  w.status = 'running', a.status = 'running' AND a.lease_until < now(), a.queue,
  a.status = 'running' AND a.lease_until IS NULL
FROM weft_activity a JOIN weft_workflow w ON w.uid = a.workflow_uid
WHERE a.uid = $1
