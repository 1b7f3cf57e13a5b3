-- Map activity $1, attempt $2, found with every instance completed when claimed again (a
-- resume after its instances had finished): completed with their outputs in element order,
-- recorded in the attempt history. No row when the attempt no longer runs.
WITH u AS (
  UPDATE weft_activity m SET status = 'completed', finished_at = now(), error = NULL,
    output = jsonb_build_object('items', (SELECT coalesce(jsonb_agg(x.output ORDER BY x.idx),
      '[]'::jsonb) FROM weft_activity x WHERE x.workflow_uid = m.workflow_uid
      AND x.idx >= m.map_base AND x.idx < m.map_base + m.map_count))
  WHERE m.uid = $1 AND m.attempt = $2 AND m.status = 'running'
  RETURNING m.uid, m.attempt, m.worker, m.worker_id, m.started_at)
INSERT INTO weft_attempt (activity_uid, attempt, status, worker, worker_id, started_at)
SELECT uid, attempt, 'completed', worker, worker_id, started_at FROM u
ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status, error = NULL,
  finished_at = now()
RETURNING 1
