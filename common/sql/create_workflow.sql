-- $1 uid, $2 name, $3 definition, $4 inputs, $5 number of activities.
-- No row back when the workflow already exists.
INSERT INTO weft_workflow (uid, name, status, definition, inputs, total, remaining)
VALUES ($1, $2, 'running', $3, $4, $5, $5)
ON CONFLICT (uid) DO NOTHING
RETURNING uid
