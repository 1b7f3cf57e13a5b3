-- The newest workflows first (weft list): $1 a status or NULL, $2 a name or NULL, $3 how
-- many. done is total - remaining: the activities terminal and handed off. The order ties
-- on uid so that equal creation times still list the same way each time.
SELECT uid, name, status, total - remaining, total, error,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  extract(epoch FROM coalesce(finished_at, now()) - created_at)
FROM weft_workflow
WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR name = $2)
ORDER BY created_at DESC, uid DESC
LIMIT $3
