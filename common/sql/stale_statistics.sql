-- Whether weft_activity has outgrown its planner statistics: more than twice the pages
-- they describe (or more than 8 with none yet). Plans cached for the smaller table, in
-- every session, were right for it and are wrong now (a sequential scan of a few pages
-- is the cheapest lookup, of thousands the most expensive); ANALYZE replaces the
-- statistics and with them every plan built on them.
SELECT pg_relation_size(c.oid)
       > 2 * greatest(c.relpages, 8)::bigint * current_setting('block_size')::bigint
FROM pg_class c
WHERE c.oid = 'weft_activity'::regclass
