SELECT workflow_uid, status, attempt, handed_off, priority, retries, max_retries,
  initial_delay_ms, backoff, max_delay_ms
FROM weft_activity WHERE uid = $1
