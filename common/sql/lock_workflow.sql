SELECT status FROM weft_workflow WHERE uid = $1 FOR UPDATE
