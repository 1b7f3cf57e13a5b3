-- Attempt $2 of activity $1, just sent round by a limit (released to queued), waits because
-- of $3 (`weft status` shows it); the next claim clears it.
UPDATE weft_activity SET waiting = $3
WHERE uid = $1 AND attempt = $2 AND status = 'queued'
