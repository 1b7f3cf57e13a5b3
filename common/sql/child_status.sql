-- The status of child workflow $1 (no row: it does not exist).
SELECT status FROM weft_workflow WHERE uid = $1
