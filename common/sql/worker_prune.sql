-- Forgets the workers silent for more than $1 days (stopped, or died long ago).
DELETE FROM weft_worker WHERE heartbeat_at < now() - make_interval(days => $1::integer)
