-- Settles the parent activity of child workflow $1 if the child is terminal and the parent
-- still waits for it (migration 010's weft_child_settled): one row, the parent attempt whose
-- handoff is due, with its workflow, or none.
SELECT o_workflow, o_activity, o_attempt FROM weft_child_settled($1)
