-- Lost handoffs: at most $2 terminal attempts of running workflows whose handoff has not
-- run $1 seconds after they finished, oldest first, through the partial index
-- weft_activity_unhanded (a terminal attempt leaves it once handed off, so the index holds
-- only what is in flight, never the history).
SELECT a.uid, a.attempt, a.priority, a.queue, a.workflow_uid
FROM weft_activity a JOIN weft_workflow w ON w.uid = a.workflow_uid
WHERE w.status = 'running' AND a.status IN ('completed','failed') AND NOT a.handed_off
  AND a.finished_at < now() - make_interval(secs => $1::float8)
ORDER BY a.finished_at LIMIT $2::integer
