-- One statement for any number of activities: rows arrive as one JSON array ($2) for
-- workflow $1. Returns the activities queued at once (the ready ones) with their queues.
WITH ins AS (
  INSERT INTO weft_activity (workflow_uid, idx, uid, name, task, params, deps, downstream,
    unmet, status, max_retries, initial_delay_ms, backoff, max_delay_ms, timeout_s, priority,
    queue, queued_at, heartbeat_s, map, concurrency)
  SELECT $1, r.idx, r.uid, r.name, r.task, r.params, r.deps, r.downstream,
    cardinality(r.deps), CASE WHEN r.ready THEN 'queued' ELSE 'pending' END,
    r.max_retries, r.initial_delay_ms, r.backoff, r.max_delay_ms, r.timeout_s,
    r.priority, r.queue, CASE WHEN r.ready THEN now() END, r.heartbeat_s, r.map, r.concurrency
  FROM jsonb_to_recordset($2::jsonb) AS r(idx integer, uid uuid, name text, task text,
    params jsonb, deps integer[], downstream integer[], ready boolean, max_retries integer,
    initial_delay_ms float8, backoff float8, max_delay_ms float8, timeout_s integer,
    priority integer, queue text, heartbeat_s integer, map jsonb, concurrency jsonb)
  RETURNING uid, attempt, priority, queue, status)
SELECT uid, attempt, priority, queue FROM ins WHERE status = 'queued'
