-- One row per applied migration (001_*.sql is version 1).
CREATE TABLE IF NOT EXISTS weft_schema_version (version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now())
