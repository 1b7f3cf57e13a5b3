SELECT uid, name, status, output, error, total, remaining,
  extract(epoch FROM now() - created_at),
  extract(epoch FROM coalesce(finished_at, now()) - created_at)
FROM weft_workflow WHERE uid = $1
