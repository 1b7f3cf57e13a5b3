-- The activities of workflow $1 with their attempt history, as one JSON array. A map's
-- instance names its map (instance_of) and element (map_index); an expanded map counts its
-- instances by status (instances: {"total": N, "completed": N, ...}); a workflow activity
-- names its child.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'name', a.name, 'uid', a.uid, 'task', a.task, 'queue', a.queue, 'status', a.status,
    'attempt', a.attempt, 'retries', a.retries, 'error', a.error,
    'duration_s', extract(epoch FROM coalesce(a.finished_at, now()) - a.started_at),
    'progress', CASE WHEN a.status = 'running' AND a.progress_at >= a.started_at
                     THEN a.progress END,
    'progress_message', CASE WHEN a.status = 'running' AND a.progress_at >= a.started_at
                             THEN a.progress_message END,
    -- why a queued attempt has not started: the limit that sent it round (global_limit.h)
    'waiting', CASE WHEN a.status = 'queued' THEN a.waiting END,
    'attempts', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'attempt', t.attempt, 'status', t.status, 'error', t.error,
                     'worker', t.worker, 'worker_id', t.worker_id,
                     'started', extract(epoch FROM t.started_at),
                     'finished', extract(epoch FROM t.finished_at))
                   ORDER BY t.attempt), '[]'::jsonb)
                 FROM weft_attempt t WHERE t.activity_uid = a.uid),
    'instance_of', (SELECT m.name FROM weft_activity m
                    WHERE m.workflow_uid = a.workflow_uid AND m.idx = a.map_parent),
    'map_index', a.map_index,
    'instances', CASE WHEN a.map_count IS NOT NULL THEN
      (SELECT jsonb_build_object('total', a.map_count) || coalesce(jsonb_object_agg(g.status, g.n),
         '{}'::jsonb)
       FROM (SELECT x.status, count(*) AS n FROM weft_activity x
             WHERE x.workflow_uid = a.workflow_uid AND x.idx >= a.map_base
             AND x.idx < a.map_base + a.map_count GROUP BY x.status) g) END,
    'child_uid', a.child_uid)
  ORDER BY a.idx), '[]'::jsonb)
FROM weft_activity a WHERE a.workflow_uid = $1
