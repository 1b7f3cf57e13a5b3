-- Expands map activity idx $2 of workflow $1 over the JSON array $4: instance I (idx $3 + I,
-- named NAME[I]) has the map's task, policy and queue, its dependencies (so it reads the same
-- upstream outputs), and as params the map's params, then the element's members when it is an
-- object, then {"item": ELEMENT, "index": I}. The first $5 are queued, the rest wait for the
-- map to release them. Returns the queued ones.
WITH m AS (
  UPDATE weft_activity SET map_base = $3::integer, map_count = jsonb_array_length($4::jsonb),
    map_next = $3::integer + least($5::integer, jsonb_array_length($4::jsonb)), map_done = 0
  WHERE workflow_uid = $1 AND idx = $2::integer
  RETURNING *),
ins AS (
  INSERT INTO weft_activity (workflow_uid, idx, uid, name, task, params, deps, downstream,
    unmet, status, max_retries, initial_delay_ms, backoff, max_delay_ms, timeout_s, priority,
    queue, queued_at, heartbeat_s, map, map_parent, map_index, concurrency)
  SELECT m.workflow_uid, $3::integer + e.i::integer - 1, gen_random_uuid(),
    m.name || '[' || (e.i - 1) || ']', m.task,
    m.params || CASE WHEN jsonb_typeof(e.v) = 'object' THEN e.v ELSE '{}'::jsonb END
      || jsonb_build_object('item', e.v, 'index', e.i - 1),
    m.deps, '{}', 0, CASE WHEN e.i <= $5::integer THEN 'queued' ELSE 'pending' END,
    m.max_retries, m.initial_delay_ms, m.backoff, m.max_delay_ms, m.timeout_s, m.priority,
    m.queue, CASE WHEN e.i <= $5::integer THEN now() END, m.heartbeat_s, m.map, m.idx,
    e.i::integer - 1, m.concurrency
  FROM m, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(v, i)
  RETURNING uid, attempt, priority, queue, status)
SELECT uid, attempt, priority, queue FROM ins WHERE status = 'queued'
