-- `weft limit set`: task $1 limited to $2 running attempts and/or a rate of $3 starts per
-- second (given as $4); a NULL leaves that part as it was.
INSERT INTO weft_limit AS l (task, concurrency, rate_per_s, rate)
VALUES ($1, $2::integer, $3::float8, $4)
ON CONFLICT (task) DO UPDATE SET
  concurrency = coalesce(EXCLUDED.concurrency, l.concurrency),
  rate_per_s = coalesce(EXCLUDED.rate_per_s, l.rate_per_s),
  rate = coalesce(EXCLUDED.rate, l.rate),
  updated_at = now()
