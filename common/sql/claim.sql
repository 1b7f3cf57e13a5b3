-- Claims attempt $2 of activity $1 for worker $3 (queued|retrying -> running, while the
-- workflow runs) and reads everything the attempt needs in one round trip: the workflow's
-- inputs and the dependencies' outputs as [[name, output], ...] in depends_on order.
WITH c AS (
  UPDATE weft_activity a SET status = 'running', started_at = now(), worker = $3
  WHERE a.uid = $1 AND a.attempt = $2 AND a.status IN ('queued','retrying')
    AND EXISTS (SELECT 1 FROM weft_workflow w
                WHERE w.uid = a.workflow_uid AND w.status = 'running')
  RETURNING a.workflow_uid, a.name, a.task, a.params, a.deps, a.priority, a.timeout_s,
    a.retries, a.max_retries, a.initial_delay_ms, a.backoff, a.max_delay_ms)
SELECT c.workflow_uid, c.name, c.task, c.params, c.priority, c.timeout_s, c.retries,
  c.max_retries, c.initial_delay_ms, c.backoff, c.max_delay_ms, w.inputs,
  COALESCE((SELECT jsonb_agg(jsonb_build_array(x.name, x.output) ORDER BY d.ord)
            FROM unnest(c.deps) WITH ORDINALITY AS d(idx, ord)
            JOIN weft_activity x ON x.workflow_uid = c.workflow_uid AND x.idx = d.idx),
           '[]'::jsonb)
FROM c JOIN weft_workflow w ON w.uid = c.workflow_uid
