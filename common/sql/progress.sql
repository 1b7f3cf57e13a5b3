-- The worker running attempt $2 of activity $1 records its progress $3 (0..100) and message
-- $4 (NULL: none). No row back when the attempt no longer runs.
UPDATE weft_activity
SET progress = $3::real, progress_message = $4, progress_at = now()
WHERE uid = $1 AND attempt = $2 AND status = 'running'
RETURNING 1
