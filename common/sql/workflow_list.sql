-- The newest workflows first, at most $3, optionally only those with status $1 and/or
-- name $2 (NULL: any), as one JSON array; ties on created_at broken by uid so pages are stable.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'uid', w.uid, 'name', w.name, 'status', w.status, 'error', w.error,
    'total', w.total, 'remaining', w.remaining,
    'created_at', to_char(w.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'duration_s', extract(epoch FROM coalesce(w.finished_at, now()) - w.created_at))
  ORDER BY w.created_at DESC, w.uid DESC), '[]'::jsonb)
FROM (SELECT * FROM weft_workflow
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR name = $2)
      ORDER BY created_at DESC, uid DESC
      LIMIT $3::integer) w
