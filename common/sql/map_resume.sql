-- Map activity idx $2 of workflow $1, expanded before and claimed again after a resume: its
-- instances that completed keep their outputs, and of those waiting (failed or canceled ones
-- went back to pending) as many are queued, in element order, as leaves at most $3 queued or
-- running. Returns the queued ones, and those queued already (their messages may be lost).
WITH m AS (
  SELECT map_base, map_count FROM weft_activity WHERE workflow_uid = $1 AND idx = $2::integer),
inst AS (
  SELECT a.idx, a.status FROM weft_activity a, m
  WHERE a.workflow_uid = $1 AND a.idx >= m.map_base AND a.idx < m.map_base + m.map_count),
busy AS (
  SELECT count(*) AS n FROM inst WHERE status IN ('queued', 'running', 'retrying')),
rel AS (
  SELECT idx FROM inst WHERE status = 'pending' ORDER BY idx
  LIMIT greatest(0, $3::integer - (SELECT n FROM busy))),
q AS (
  UPDATE weft_activity a SET status = 'queued', queued_at = now()
  FROM rel WHERE a.workflow_uid = $1 AND a.idx = rel.idx
  RETURNING a.uid, a.attempt, a.priority, a.queue),
u AS (
  UPDATE weft_activity x SET
    map_done = (SELECT count(*) FROM inst WHERE status = 'completed'),
    map_next = coalesce((SELECT max(idx) + 1 FROM rel), m.map_base)
  FROM m WHERE x.workflow_uid = $1 AND x.idx = $2::integer
  RETURNING 1)
SELECT uid, attempt, priority, queue FROM q
UNION ALL
SELECT a.uid, a.attempt, a.priority, a.queue FROM weft_activity a, m
WHERE a.workflow_uid = $1 AND a.idx >= m.map_base AND a.idx < m.map_base + m.map_count
  AND a.status = 'queued'
