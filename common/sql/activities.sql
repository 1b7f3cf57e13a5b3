-- The activities of workflow $1 with their attempt history, as one JSON array.
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
                 FROM weft_attempt t WHERE t.activity_uid = a.uid))
  ORDER BY a.idx), '[]'::jsonb)
FROM weft_activity a WHERE a.workflow_uid = $1
