-- Every weft session plans each execution of a statement with the tables as they are
-- then. A plan cached from a fresh database's first executions, when the tables hold a
-- few rows and a sequential scan is the cheapest, would be kept as they grow (until the
-- next ANALYZE) and make each claim or handoff O(table).
SET plan_cache_mode = force_custom_plan
