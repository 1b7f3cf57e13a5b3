-- Serializes the defines of name $1 until the transaction ends, so its next version is
-- computed once (define.sql runs next in the same transaction).
SELECT pg_advisory_xact_lock(hashtext('weft_definition:' || $1::text))
