-- Migration 2: the handoff as one server-side call.
-- Released: never edit; migration 4 replaces the function.
--
-- It runs on the singleton's serial path, so one round trip and one commit instead of
-- seven: the count-down of unmet dependencies (O(out-degree), never a rescan), failure
-- with cancellation, or completion.

CREATE FUNCTION weft_handoff(p_wf uuid, p_act uuid, p_attempt integer)
 RETURNS TABLE (o_status text, o_outcome text, o_uid uuid, o_attempt integer,
  o_priority integer)
 LANGUAGE plpgsql AS $fn$
 DECLARE
  v_status text; v_act_status text; v_downstream integer[]; v_name text;
  v_error text; v_remaining integer; v_state record; v_i integer; v_ready boolean;
 BEGIN
  -- Lock the workflow row first (resume locks it first too) and count the activity as
  -- terminal at once, the common case; a stale or duplicate message gives it back.
  UPDATE weft_workflow w SET remaining = w.remaining - 1, updated_at = now()
   WHERE w.uid = p_wf RETURNING w.status, w.remaining INTO v_status, v_remaining;
  IF NOT FOUND THEN
   o_outcome := 'unknown_workflow'; RETURN NEXT; RETURN;
  END IF;
  UPDATE weft_activity a SET handed_off = true
   WHERE a.uid = p_act AND a.attempt = p_attempt AND a.workflow_uid = p_wf
   AND a.status IN ('completed','failed') AND NOT a.handed_off
   RETURNING a.status, a.downstream, a.name, a.error
   INTO v_act_status, v_downstream, v_name, v_error;
  IF NOT FOUND THEN
   UPDATE weft_workflow w SET remaining = w.remaining + 1 WHERE w.uid = p_wf;
   SELECT a.workflow_uid, a.status, a.attempt, a.handed_off, a.downstream INTO v_state
    FROM weft_activity a WHERE a.uid = p_act;
   o_status := v_status;
   IF NOT FOUND OR v_state.workflow_uid <> p_wf THEN
    o_outcome := 'unknown_activity';
   ELSIF v_state.attempt = p_attempt AND v_state.handed_off
    AND v_state.status = 'completed' THEN
    -- a duplicate: re-send what the first run queued, in case it died before publishing
    FOREACH v_i IN ARRAY v_state.downstream LOOP
     SELECT d.uid, d.attempt, d.priority INTO o_uid, o_attempt, o_priority
      FROM weft_activity d WHERE d.workflow_uid = p_wf AND d.idx = v_i
      AND d.status = 'queued';
     IF FOUND THEN RETURN NEXT; END IF;
    END LOOP;
    o_uid := NULL; o_attempt := NULL; o_priority := NULL;
    o_outcome := 'duplicate';
   ELSE
    o_outcome := 'stale';
   END IF;
   RETURN NEXT; RETURN;
  END IF;
  IF v_act_status = 'completed' THEN
   -- One key lookup per dependent: with both key columns given by equality the plan is a
   -- unique index probe whatever the statistics say (a fresh database has none, and a
   -- set-based join was then planned as a scan of the whole workflow). SET expressions
   -- see the old row: unmet = 1 means "about to reach 0".
   FOREACH v_i IN ARRAY v_downstream LOOP
    UPDATE weft_activity d SET unmet = d.unmet - 1,
     status = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'
      THEN 'queued' ELSE d.status END,
     queued_at = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'
      THEN now() ELSE d.queued_at END
    WHERE d.workflow_uid = p_wf AND d.idx = v_i
    RETURNING d.uid, d.attempt, d.priority, d.status = 'queued' AND d.unmet = 0
    INTO o_uid, o_attempt, o_priority, v_ready;
    IF v_ready THEN RETURN NEXT; END IF;
   END LOOP;
  ELSIF v_status = 'running' THEN
   WITH c AS (UPDATE weft_activity d SET status = 'canceled', finished_at = now()
     WHERE d.workflow_uid = p_wf AND d.status IN ('pending','queued','retrying')
     RETURNING 1)
   UPDATE weft_workflow w SET status = 'failed', finished_at = now(), updated_at = now(),
    error = format('activity ''%s'' failed: %s', v_name,
     coalesce(v_error, 'unknown error')),
    remaining = w.remaining - (SELECT count(*) FROM c) WHERE w.uid = p_wf;
   PERFORM pg_notify('weft_workflow', p_wf::text);
   v_status := 'failed';
  END IF;
  IF v_remaining = 0 AND v_act_status = 'completed' AND v_status = 'running' THEN
   UPDATE weft_workflow w SET status = 'completed', finished_at = now(),
    output = (SELECT jsonb_object_agg(a.name, a.output) FROM weft_activity a
     WHERE a.workflow_uid = p_wf AND cardinality(a.downstream) = 0)
    WHERE w.uid = p_wf;
   PERFORM pg_notify('weft_workflow', p_wf::text);
   v_status := 'completed';
  END IF;
  o_status := v_status; o_outcome := 'handed_off';
  o_uid := NULL; o_attempt := NULL; o_priority := NULL;
  RETURN NEXT;
 END $fn$;
