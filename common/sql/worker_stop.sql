-- Worker $1 stopped gracefully.
UPDATE weft_worker SET stopped_at = now(), heartbeat_at = now() WHERE id = $1::uuid
