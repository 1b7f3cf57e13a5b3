-- Stores definition $2 under name $1 as its next version, unless it equals the latest
-- version, which is then kept (defining the same file twice changes nothing). Run after
-- define_lock.sql in one transaction. Returns the version and whether it is new.
WITH latest AS (
  SELECT d.version, d.definition FROM weft_definition d
  WHERE d.name = $1 ORDER BY d.version DESC LIMIT 1),
ins AS (
  INSERT INTO weft_definition (name, version, definition)
  SELECT $1, coalesce((SELECT version FROM latest), 0) + 1, $2::jsonb
  WHERE NOT EXISTS (SELECT 1 FROM latest WHERE latest.definition = $2::jsonb)
  RETURNING version)
SELECT version, true FROM ins
UNION ALL
SELECT version, false FROM latest WHERE NOT EXISTS (SELECT 1 FROM ins)
