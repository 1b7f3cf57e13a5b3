-- Worker $1 is alive. No row back when it is not registered (pruned after a long silence).
UPDATE weft_worker SET heartbeat_at = now() WHERE id = $1::uuid AND stopped_at IS NULL
RETURNING 1
