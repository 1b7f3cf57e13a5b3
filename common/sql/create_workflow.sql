-- $1 uid, $2 name, $3 definition, $4 inputs, $5 number of activities; for a child workflow
-- $6 its parent workflow and $7 the parent's activity that waits for it (else NULL); $8 its
-- cap on activities queued or running (0: none to count), $9 how many it queues at once and
-- $10 how many ready ones it holds beyond the cap (migration 10).
-- No row back when the workflow already exists.
INSERT INTO weft_workflow (uid, name, status, definition, inputs, total, remaining,
  parent_uid, parent_activity, max_parallel, inflight, held)
VALUES ($1, $2, 'running', $3, $4, $5, $5, $6, $7, $8, $9, $10)
ON CONFLICT (uid) DO NOTHING
RETURNING uid
