-- Migration 6: routing queues and the worker registry (DESIGN §9).
-- Released: never edit; a change of schema is a new migration.

-- The queue an activity's attempts travel on (queues.h), kept with it so that retries,
-- sweeps and resumes send them there again. A constant default: no table rewrite, and rows
-- written by an older version (a rolling upgrade) are `default`'s.
ALTER TABLE weft_activity
  ADD COLUMN queue text NOT NULL DEFAULT 'default',
  ADD COLUMN worker_id uuid; -- the registered worker running (or that ran) the attempt
ALTER TABLE weft_attempt ADD COLUMN worker_id uuid;

-- One row per weft-activity process since it started: what it consumes and serves, and its
-- heartbeat. A worker that stops gracefully sets stopped_at; one that dies leaves its
-- heartbeat to age (alive: within 3 heartbeat_s). Rows silent for a week are pruned when a
-- worker registers (worker_prune.sql); the task types they declared stay in weft_task_type.
CREATE TABLE weft_worker (
  id uuid PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  queues text[] NOT NULL,
  tasks text[] NOT NULL,
  concurrency integer NOT NULL,
  limits jsonb NOT NULL,         -- per task type, {"resize": 2}
  heartbeat_s integer NOT NULL,  -- how often it heartbeats
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz);

-- Every task type a worker ever declared: what a definition may name beside the built-in
-- ones (weft-entry checks it).
CREATE TABLE weft_task_type (
  name text PRIMARY KEY,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now());
