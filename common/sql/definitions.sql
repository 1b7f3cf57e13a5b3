-- Every named definition: its latest version, how many it has, and when each of its first
-- and latest versions was stored, by name.
SELECT name, max(version), count(*), min(created_at)::text, max(created_at)::text
FROM weft_definition GROUP BY name ORDER BY name
