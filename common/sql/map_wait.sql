-- Map activity $1, attempt $2, claimed by this worker, starts waiting for its instances:
-- running with no lease (nothing runs it, so the sweeper must not find it lost). Returns its
-- idx and its map spec, and whether it was expanded before (a resumed map); no row when the
-- attempt no longer runs.
UPDATE weft_activity SET lease_until = NULL
WHERE uid = $1 AND attempt = $2 AND status = 'running'
RETURNING idx, map, map_count IS NOT NULL
