-- Every task type a worker ever declared.
SELECT name FROM weft_task_type ORDER BY name
