-- Terminal attempts of running workflows whose handoff has not run for $1 seconds.
SELECT a.uid, a.attempt, a.priority, a.workflow_uid
FROM weft_activity a JOIN weft_workflow w ON w.uid = a.workflow_uid
WHERE w.status = 'running' AND a.status IN ('completed','failed') AND NOT a.handed_off
  AND a.finished_at < now() - make_interval(secs => $1::float8)
