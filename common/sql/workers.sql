-- The registered workers as one JSON array, newest first. A worker is alive while it
-- heartbeats within three of its intervals, stopped once it said so, else lost (it died).
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'id', w.id, 'host', w.host, 'pid', w.pid, 'queues', to_jsonb(w.queues),
    'tasks', to_jsonb(w.tasks), 'concurrency', w.concurrency, 'limits', w.limits,
    'heartbeat_s', w.heartbeat_s,
    'started_at', to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'heartbeat_at', to_char(w.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'heartbeat_age_s', round(extract(epoch FROM now() - w.heartbeat_at)::numeric, 1),
    'state', CASE WHEN w.stopped_at IS NOT NULL THEN 'stopped'
                  WHEN w.heartbeat_at >= now() - make_interval(secs => 3 * w.heartbeat_s)
                  THEN 'alive' ELSE 'lost' END)
  ORDER BY w.started_at DESC, w.id), '[]'::jsonb)
FROM weft_worker w
