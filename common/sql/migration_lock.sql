-- Every weft process applies migrations under this session-level advisory lock
-- ($1: the key), so several binaries starting at once are safe.
SELECT pg_advisory_lock($1::bigint)
