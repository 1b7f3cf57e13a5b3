-- The DAG of workflow $1: each activity's name and the names of its depends_on, in listed
-- order, as one JSON array in definition order (the order of activities.sql).
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'name', a.name,
    'depends_on', (SELECT coalesce(jsonb_agg(d.name ORDER BY k.ord), '[]'::jsonb)
                   FROM unnest(a.deps) WITH ORDINALITY AS k(idx, ord)
                   JOIN weft_activity d ON d.workflow_uid = a.workflow_uid AND d.idx = k.idx))
  ORDER BY a.idx), '[]'::jsonb)
FROM weft_activity a WHERE a.workflow_uid = $1
