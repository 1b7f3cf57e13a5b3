-- A stopping worker gives attempt $2 of activity $1 back (running -> queued).
UPDATE weft_activity SET status = 'queued', started_at = NULL, worker = NULL,
  queued_at = now()
WHERE uid = $1 AND attempt = $2 AND status = 'running'
RETURNING 1
