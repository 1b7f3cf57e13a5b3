-- Migration 11: limits across all workers (DESIGN §10: weft limit), concurrency keys and the
-- reason an attempt waits.
-- Released: never edit; a change of schema is a new migration.

-- One row per limited task type, written by `weft limit set` and read by every worker every
-- second or so (global_limit.h): at most `concurrency` attempts running at once, and starts
-- no faster than rate_per_s. A row limits at least one of the two.
CREATE TABLE weft_limit (
  task text PRIMARY KEY,
  concurrency integer CHECK (concurrency > 0),
  rate_per_s double precision CHECK (rate_per_s > 0),
  rate text,  -- the rate as it was given ("10/s"), for people
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (concurrency IS NOT NULL OR rate_per_s IS NOT NULL),
  CHECK ((rate IS NULL) = (rate_per_s IS NULL)));

-- The activity's concurrency key ({"key": "customer", "limit": 1}; NULL: none), and while it
-- is queued after a limit sent its attempt round, why ("global limit resize 2/2"); the claim
-- clears it. Both nullable without a default: no table rewrite.
ALTER TABLE weft_activity
  ADD COLUMN concurrency jsonb,
  ADD COLUMN waiting text;
