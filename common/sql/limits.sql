-- Every global limit, by task, as one JSON array: what workers cache (global_limit.h) and
-- `weft limit list` shows. concurrency and rate are null where the row does not limit them.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'task', l.task, 'concurrency', l.concurrency, 'rate', l.rate, 'rate_per_s', l.rate_per_s,
    'updated_at', to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
  ORDER BY l.task), '[]'::jsonb)
FROM weft_limit l
