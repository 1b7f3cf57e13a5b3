-- Migration 3: storage parameters.
-- Released: never edit; a change of schema is a new migration.

-- Activity and workflow rows are updated a few times each within seconds (a join's row
-- once per finished dependency): leave room on each page for those versions so the
-- updates stay on-page (HOT), and vacuum well before the default 20% of dead rows.
ALTER TABLE weft_activity SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE weft_workflow SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02);

-- A status-only index tempted the planner away from the primary key for lookups by uid.
DROP INDEX weft_workflow_active;
