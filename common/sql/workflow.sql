SELECT uid, name, status, output, error, total, remaining,
  extract(epoch FROM now() - created_at),
  extract(epoch FROM coalesce(finished_at, now()) - created_at),
  parent_uid, (SELECT a.name FROM weft_activity a WHERE a.uid = parent_activity)
FROM weft_workflow WHERE uid = $1
