-- Makes room for $2 instances in running workflow $1: they count in its total and remaining.
-- Returns the idx of the first, after every activity it has; the row lock serializes two maps
-- of one workflow expanding at once. No row when the workflow no longer runs.
UPDATE weft_workflow SET total = total + $2::integer, remaining = remaining + $2::integer,
  updated_at = now()
WHERE uid = $1 AND status = 'running'
RETURNING total - $2::integer
