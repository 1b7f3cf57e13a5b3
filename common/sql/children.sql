-- The child workflows of workflow $1 still pending or running (a cancel cascades to them).
SELECT uid FROM weft_workflow
WHERE parent_uid = $1 AND status IN ('pending', 'running')
ORDER BY created_at
