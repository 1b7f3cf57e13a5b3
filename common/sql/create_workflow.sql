-- $1 uid, $2 name, $3 definition, $4 inputs, $5 number of activities; for a child workflow
-- $6 its parent workflow and $7 the parent's activity that waits for it (else NULL).
-- No row back when the workflow already exists.
INSERT INTO weft_workflow (uid, name, status, definition, inputs, total, remaining,
  parent_uid, parent_activity)
VALUES ($1, $2, 'running', $3, $4, $5, $5, $6, $7)
ON CONFLICT (uid) DO NOTHING
RETURNING uid
