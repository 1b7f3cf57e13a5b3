INSERT INTO weft_schema_version (version) VALUES ($1::integer)
