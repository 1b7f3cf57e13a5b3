-- Lost attempts: at most $1 running attempts whose lease expired (their worker stopped
-- renewing it: it died after acknowledging its message early, or lost Postgres), oldest
-- first, in any workflow: one left running in a workflow that failed must end too. Each
-- comes with what weft_store_fail needs to decide on a retry.
SELECT a.uid, a.attempt, a.priority, a.queue, a.workflow_uid, a.retries, a.max_retries,
  a.initial_delay_ms, a.backoff, a.max_delay_ms,
  ceil(extract(epoch FROM now() - a.lease_until))::integer
FROM weft_activity a
WHERE a.status = 'running' AND a.lease_until < now()
ORDER BY a.lease_until LIMIT $1::integer
