-- Migration 7: named definitions (DESIGN §11).
-- Released: never edit; a change of schema is a new migration.

-- A definition stored under its name, one row per version (1, 2, ...): an entry message
-- may start one by name (the latest version, or the one it names) instead of carrying it.
-- A version never changes once written; a workflow keeps its own copy of what it runs.
CREATE TABLE weft_definition (
  name text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);
