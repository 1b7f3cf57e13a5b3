-- The definition document workflow $1 was created from (weft graph).
SELECT definition FROM weft_workflow WHERE uid = $1
