-- Activity $1, attempt $2, claimed by this worker, waits for its child workflow $3: running
-- with no lease (no worker slot is held and the sweeper must not call it lost). No row when
-- the attempt no longer runs.
UPDATE weft_activity SET lease_until = NULL, child_uid = $3
WHERE uid = $1 AND attempt = $2 AND status = 'running'
RETURNING 1
