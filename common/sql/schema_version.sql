SELECT coalesce(max(version), 0) FROM weft_schema_version
