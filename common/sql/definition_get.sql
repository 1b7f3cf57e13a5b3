-- Version $2 of the definition named $1, or its latest version when $2 is NULL.
SELECT version, definition FROM weft_definition
WHERE name = $1 AND ($2::integer IS NULL OR version = $2::integer)
ORDER BY version DESC LIMIT 1
