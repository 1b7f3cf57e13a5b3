-- Every weft statement is a lookup by key. Plans are cached from the first executions,
-- when a fresh database's tables hold a few rows and a sequential scan looks cheapest;
-- kept as the tables grow, such a plan makes each handoff O(workflows).
SET enable_seqscan = off
