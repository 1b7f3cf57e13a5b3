-- The worker running attempt $2 of activity $1 renews its lease for $3 seconds, and learns
-- its workflow's status (canceled: the attempt must stop). No row back when the attempt no
-- longer runs (settled elsewhere: swept as lost, or its workflow ended).
UPDATE weft_activity SET lease_until = now() + make_interval(secs => $3::float8)
WHERE uid = $1 AND attempt = $2 AND status = 'running'
RETURNING (SELECT w.status FROM weft_workflow w WHERE w.uid = weft_activity.workflow_uid)
