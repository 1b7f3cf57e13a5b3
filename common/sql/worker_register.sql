-- Registers worker $1 on host $2 with pid $3, consuming the queues of JSON array $4 and
-- serving the task types of JSON array $5, with $6 threads, per-type limits $7 (a JSON
-- object) and a heartbeat every $8 seconds; its task types join the known ones.
WITH w AS (
  INSERT INTO weft_worker (id, host, pid, queues, tasks, concurrency, limits, heartbeat_s)
  VALUES ($1::uuid, $2, $3::integer,
    ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),
    ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),
    $6::integer, $7::jsonb, $8::integer)
  RETURNING tasks)
INSERT INTO weft_task_type (name)
SELECT DISTINCT unnest(w.tasks) FROM w
ON CONFLICT (name) DO UPDATE SET last_seen = now()
