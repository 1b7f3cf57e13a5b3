-- Migration 1: workflows, activities, attempt history.
-- Released: never edit; a change of schema is a new migration.

CREATE TABLE weft_workflow (
  uid uuid PRIMARY KEY,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN
    ('pending','running','completed','failed','canceled')),
  definition jsonb NOT NULL,
  inputs jsonb NOT NULL,
  output jsonb,
  error text,
  total integer NOT NULL,
  -- activities not yet terminal: the handoff that brings it to 0 decides completion
  remaining integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz);

CREATE INDEX weft_workflow_active ON weft_workflow (status)
  WHERE status IN ('pending','running');

CREATE TABLE weft_activity (
  workflow_uid uuid NOT NULL REFERENCES weft_workflow(uid) ON DELETE CASCADE,
  idx integer NOT NULL,
  uid uuid NOT NULL UNIQUE,
  name text NOT NULL,
  task text NOT NULL,
  params jsonb NOT NULL,
  deps integer[] NOT NULL,       -- indices of depends_on, in listed order
  downstream integer[] NOT NULL, -- indices of the activities depending on this one
  unmet integer NOT NULL,        -- dependencies not yet completed and handed off
  status text NOT NULL CHECK (status IN
    ('pending','queued','running','retrying','completed','failed','canceled')),
  attempt integer NOT NULL DEFAULT 1,
  retries integer NOT NULL DEFAULT 0, -- retries used since creation or last resume
  max_retries integer NOT NULL,
  initial_delay_ms double precision NOT NULL,
  backoff double precision NOT NULL,
  max_delay_ms double precision NOT NULL,
  timeout_s integer NOT NULL DEFAULT 0,
  priority integer NOT NULL DEFAULT 0,
  input jsonb,
  output jsonb,
  error text,
  handed_off boolean NOT NULL DEFAULT false, -- the terminal attempt's handoff ran
  worker text,
  queued_at timestamptz, -- when queued, or when a retry is due
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (workflow_uid, idx));

CREATE INDEX weft_activity_waiting ON weft_activity (queued_at)
  WHERE status IN ('queued','retrying');

CREATE TABLE weft_attempt (
  activity_uid uuid NOT NULL,
  attempt integer NOT NULL,
  status text NOT NULL,
  error text,
  worker text,
  started_at timestamptz,
  finished_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (activity_uid, attempt));
