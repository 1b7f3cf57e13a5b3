-- Planner statistics for the tables the store grows (see stale_statistics.sql).
ANALYZE weft_workflow, weft_activity
