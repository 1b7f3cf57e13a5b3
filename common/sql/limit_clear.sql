-- `weft limit clear`: task $1 unlimited again; returns the row it removed, if any.
DELETE FROM weft_limit WHERE task = $1 RETURNING task
