-- Claims attempt $2 of activity $1 of workflow $4 for worker $3 (registered as $6; NULL: not
-- registered), leased for $5 seconds (queued -> running, or retrying -> running once the
-- retry is due: queued_at holds its due time; only while the workflow runs) and reads
-- everything the attempt needs in one round trip: the workflow's inputs, the dependencies'
-- outputs as [[name, output], ...] in depends_on order, the activity's queue, its
-- heartbeat_s, for composition (migration 10) its map spec, whether it is a map instance,
-- whether it was expanded already (a resumed map) and its child workflow, and last its
-- concurrency key (global_limit.h). A limit's wait reason ends with the claim.
WITH c AS (
  UPDATE weft_activity a SET status = 'running', started_at = now(), worker = $3, waiting = NULL,
    worker_id = $6::uuid, lease_until = now() + make_interval(secs => $5::float8)
  -- The row is found by its uid. The status test is a CASE so that it does not imply the
  -- predicate of the partial index weft_activity_waiting: that index's statistics describe
  -- the waiting set at the last ANALYZE, which a fan-out outgrows in an instant, and a
  -- claim planned on it reads the whole waiting set to find one uid.
  WHERE a.uid = $1 AND a.attempt = $2 AND a.workflow_uid = $4
    AND CASE a.status WHEN 'queued' THEN true
                      WHEN 'retrying' THEN coalesce(a.queued_at, now()) <= now()
                      ELSE false END
    AND EXISTS (SELECT 1 FROM weft_workflow w
                WHERE w.uid = a.workflow_uid AND w.status = 'running')
  RETURNING a.workflow_uid, a.name, a.task, a.params, a.deps, a.priority, a.timeout_s,
    a.retries, a.max_retries, a.initial_delay_ms, a.backoff, a.max_delay_ms, a.queue,
    a.heartbeat_s, a.map, a.map_parent, a.map_count, a.child_uid, a.concurrency)
SELECT c.name, c.task, c.params, c.priority, c.timeout_s, c.retries,
  c.max_retries, c.initial_delay_ms, c.backoff, c.max_delay_ms, w.inputs,
  -- one probe of the key (workflow_uid, idx) per dependency, whatever the statistics
  -- say about workflows' sizes: as a join, with statistics of many small workflows, the
  -- planner reads the whole workflow once and hashes it, which is O(workflow) per claim
  COALESCE((SELECT jsonb_agg((SELECT jsonb_build_array(x.name, x.output)
                              FROM weft_activity x
                              WHERE x.workflow_uid = c.workflow_uid AND x.idx = d.idx)
                             ORDER BY d.ord)
            FROM unnest(c.deps) WITH ORDINALITY AS d(idx, ord)),
           '[]'::jsonb),
  c.queue, c.heartbeat_s, c.map, c.map_parent IS NOT NULL, c.map_count IS NOT NULL, c.child_uid,
  c.concurrency
FROM c JOIN weft_workflow w ON w.uid = c.workflow_uid
