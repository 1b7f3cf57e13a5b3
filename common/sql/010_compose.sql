-- Migration 10: composition (DESIGN §11): map activities and their instances, child workflows;
-- and fairness (DESIGN §10): a cap on a workflow's activities queued or running at once.
-- Released: never edit; a change of schema is a new migration.
--
-- A map activity, once ready, is expanded by the worker that claims it: one instance row per
-- element of the array it maps over, appended to the workflow (idx from map_base, counted in
-- the workflow's total and remaining), at most max_parallel of them queued or running at
-- once. The map activity itself then waits: `running` with no lease (nothing runs it, so
-- nothing renews a lease and the sweeper must not call it lost). Each instance's handoff
-- releases the next waiting instance; the last one completes the map with its outputs in
-- element order, and the first to fail for good fails it.
--
-- A `workflow` activity starts a child workflow and waits the same way, holding no worker
-- slot; the child records its parent, and the handoff that settles the child settles the
-- parent activity (weft_child_settled) and asks for the parent activity's handoff.
ALTER TABLE weft_activity
  ADD COLUMN map jsonb,          -- {"over": KEY, "max_parallel": N}: on a map and its instances
  ADD COLUMN map_parent integer, -- on an instance: idx of its map activity
  ADD COLUMN map_index integer,  -- on an instance: its element's position
  ADD COLUMN map_base integer,   -- on an expanded map: idx of instance 0
  ADD COLUMN map_count integer,  -- on an expanded map: how many instances
  ADD COLUMN map_next integer,   -- on an expanded map: where the search for the next waiting
                                 -- instance starts (instances are released in element order)
  ADD COLUMN map_done integer,   -- on an expanded map: instances completed
  ADD COLUMN child_uid uuid;     -- on a `workflow` activity: its child workflow

ALTER TABLE weft_workflow
  ADD COLUMN parent_uid uuid,      -- a child workflow: its parent workflow ...
  ADD COLUMN parent_activity uuid; -- ... and the activity that waits for it

CREATE INDEX weft_workflow_children ON weft_workflow (parent_uid)
  WHERE parent_uid IS NOT NULL;

-- Fairness. A workflow of more activities than its max_parallel never has more than that many
-- queued, running or retrying at once (map instances aside: their map's max_parallel bounds
-- them), so a 10,000-activity fan-out does not put 10,000 messages in front of every workflow
-- submitted after it. The ready ones beyond the cap are held: pending with no unmet
-- dependency, released by the handoff (in definition order) as running ones finish.
-- max_parallel is 0 for a workflow that cannot reach its cap (no more activities than it):
-- nothing is counted for it, and its handoffs pay nothing. inflight and held are counted
-- only when it is not 0.
-- held_next: no held activity has a lower idx, so the search for the next one starts there
-- and never walks the index entries of those released before it.
ALTER TABLE weft_workflow
  ADD COLUMN max_parallel integer NOT NULL DEFAULT 0,
  ADD COLUMN inflight integer NOT NULL DEFAULT 0,
  ADD COLUMN held integer NOT NULL DEFAULT 0,
  ADD COLUMN held_next integer NOT NULL DEFAULT 0;

CREATE INDEX weft_activity_held ON weft_activity (workflow_uid, idx)
  WHERE status = 'pending' AND unmet = 0 AND map_parent IS NULL;

-- Settles the parent activity of child workflow p_child once the child is terminal: completed
-- gives the activity the child's output, failed or canceled fails it for good (PERMANENT: the
-- child had its own retries) with the child's uid and error. One row, the parent attempt whose
-- handoff is now due, when this settled it; none when there is no parent, the child is not
-- terminal, or the parent activity no longer waits for this child (settled already, canceled).
CREATE FUNCTION weft_child_settled(p_child uuid)
 RETURNS TABLE (o_workflow uuid, o_activity uuid, o_attempt integer)
 LANGUAGE plpgsql AS $fn$
 DECLARE
  c record;
 BEGIN
  SELECT w.parent_uid, w.parent_activity, w.status, w.output, w.error INTO c
   FROM weft_workflow w WHERE w.uid = p_child;
  IF NOT FOUND OR c.parent_uid IS NULL
   OR c.status NOT IN ('completed', 'failed', 'canceled') THEN
   RETURN;
  END IF;
  UPDATE weft_activity a SET
   status = CASE WHEN c.status = 'completed' THEN 'completed' ELSE 'failed' END,
   output = CASE WHEN c.status = 'completed' THEN c.output END,
   error = CASE WHEN c.status = 'completed' THEN NULL
           WHEN c.status = 'canceled' THEN format('child workflow %s %s', p_child,
             coalesce(c.error, 'canceled'))
           ELSE format('child workflow %s failed: %s', p_child,
             coalesce(c.error, 'unknown error')) END,
   finished_at = now()
  WHERE a.uid = c.parent_activity AND a.workflow_uid = c.parent_uid
   AND a.status = 'running' AND a.child_uid = p_child
  RETURNING a.workflow_uid, a.uid, a.attempt INTO o_workflow, o_activity, o_attempt;
  IF FOUND THEN
   INSERT INTO weft_attempt (activity_uid, attempt, status, error, worker, worker_id,
     started_at)
   SELECT a.uid, a.attempt, a.status, a.error, a.worker, a.worker_id, a.started_at
    FROM weft_activity a WHERE a.uid = o_activity
   ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,
    error = excluded.error, finished_at = now();
   RETURN NEXT;
  END IF;
 END $fn$;

-- The handoff (first released in migration 2), now also for map instances and child
-- workflows. Rows: the activities to dispatch (o_uid set, o_outcome NULL); for a child
-- workflow that this handoff settled, its parent activity, whose handoff is due (o_uid set,
-- o_outcome 'parent'); last the outcome row (o_uid NULL).
CREATE OR REPLACE FUNCTION weft_handoff(p_wf uuid, p_act uuid, p_attempt integer)
 RETURNS TABLE (o_status text, o_outcome text, o_uid uuid, o_attempt integer,
  o_priority integer)
 LANGUAGE plpgsql AS $fn$
 DECLARE
  v_status text; v_act_status text; v_downstream integer[]; v_name text;
  v_error text; v_remaining integer; v_state record; v_i integer; v_ready boolean;
  v_map_parent integer; v_m record; v_p record;
  v_cap integer; v_inflight integer; v_held integer; v_held_next integer; v_wait boolean;
  v_n integer;
 BEGIN
  -- Lock the workflow row first (resume locks it first too) and count the activity as
  -- terminal at once, the common case; a stale or duplicate message gives it back.
  UPDATE weft_workflow w SET remaining = w.remaining - 1, updated_at = now()
   WHERE w.uid = p_wf
   RETURNING w.status, w.remaining, w.max_parallel, w.inflight, w.held, w.held_next
   INTO v_status, v_remaining, v_cap, v_inflight, v_held, v_held_next;
  IF NOT FOUND THEN
   o_outcome := 'unknown_workflow'; RETURN NEXT; RETURN;
  END IF;
  UPDATE weft_activity a SET handed_off = true
   WHERE a.uid = p_act AND a.attempt = p_attempt AND a.workflow_uid = p_wf
   AND a.status IN ('completed','failed') AND NOT a.handed_off
   RETURNING a.status, a.downstream, a.name, a.error, a.map_parent
   INTO v_act_status, v_downstream, v_name, v_error, v_map_parent;
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

  IF v_map_parent IS NOT NULL THEN
   -- An instance of a map: release the next waiting instance, or settle the map, whose own
   -- handoff then runs here (recursively) as any activity's does.
   SELECT m.uid, m.attempt, m.status, m.map_base, m.map_count, m.map_next, m.map_done
    INTO v_m FROM weft_activity m WHERE m.workflow_uid = p_wf AND m.idx = v_map_parent
    FOR UPDATE;
   IF v_status = 'running' AND v_m.status = 'running' AND v_act_status = 'completed' THEN
    SELECT d.idx INTO v_i FROM weft_activity d
     WHERE d.workflow_uid = p_wf AND d.idx >= v_m.map_next
     AND d.idx < v_m.map_base + v_m.map_count AND d.status = 'pending'
     ORDER BY d.idx LIMIT 1;
    IF FOUND THEN
     UPDATE weft_activity d SET status = 'queued', queued_at = now()
      WHERE d.workflow_uid = p_wf AND d.idx = v_i
      RETURNING d.uid, d.attempt, d.priority INTO o_uid, o_attempt, o_priority;
     RETURN NEXT;
    END IF;
    UPDATE weft_activity m SET map_done = m.map_done + 1,
     map_next = coalesce(v_i + 1, m.map_base + m.map_count)
     WHERE m.workflow_uid = p_wf AND m.idx = v_map_parent;
    IF v_m.map_done + 1 >= v_m.map_count THEN
     UPDATE weft_activity m SET status = 'completed', finished_at = now(), error = NULL,
      output = jsonb_build_object('items', (SELECT coalesce(jsonb_agg(x.output ORDER BY x.idx),
        '[]'::jsonb) FROM weft_activity x WHERE x.workflow_uid = p_wf
        AND x.idx >= v_m.map_base AND x.idx < v_m.map_base + v_m.map_count))
      WHERE m.workflow_uid = p_wf AND m.idx = v_map_parent;
     INSERT INTO weft_attempt (activity_uid, attempt, status, worker, worker_id, started_at)
     SELECT a.uid, a.attempt, 'completed', a.worker, a.worker_id, a.started_at
      FROM weft_activity a WHERE a.uid = v_m.uid
     ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,
      error = NULL, finished_at = now();
     RETURN QUERY SELECT * FROM weft_handoff(p_wf, v_m.uid, v_m.attempt);
     RETURN;
    END IF;
   ELSIF v_status = 'running' AND v_m.status = 'running' THEN
    UPDATE weft_activity m SET status = 'failed', finished_at = now(),
     error = format('instance %s failed: %s', v_name, coalesce(v_error, 'unknown error'))
     WHERE m.workflow_uid = p_wf AND m.idx = v_map_parent;
    INSERT INTO weft_attempt (activity_uid, attempt, status, error, worker, worker_id,
      started_at)
    SELECT a.uid, a.attempt, 'failed', a.error, a.worker, a.worker_id, a.started_at
     FROM weft_activity a WHERE a.uid = v_m.uid
    ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,
     error = excluded.error, finished_at = now();
    RETURN QUERY SELECT * FROM weft_handoff(p_wf, v_m.uid, v_m.attempt);
    RETURN;
   END IF;
   o_status := v_status; o_outcome := 'handed_off';
   o_uid := NULL; o_attempt := NULL; o_priority := NULL;
   RETURN NEXT; RETURN;
  END IF;

  -- this activity no longer counts against the cap
  v_inflight := v_inflight - 1;
  IF v_act_status = 'completed' THEN
   -- One key lookup per dependent: with both key columns given by equality the plan is a
   -- unique index probe whatever the statistics say. SET expressions see the old row:
   -- unmet = 1 means "about to reach 0"; one that reaches it with the cap full is held.
   FOREACH v_i IN ARRAY v_downstream LOOP
    v_wait := v_cap > 0 AND v_inflight >= v_cap;
    UPDATE weft_activity d SET unmet = d.unmet - 1,
     status = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'
      AND NOT v_wait THEN 'queued' ELSE d.status END,
     queued_at = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'
      AND NOT v_wait THEN now() ELSE d.queued_at END
    WHERE d.workflow_uid = p_wf AND d.idx = v_i
    RETURNING d.uid, d.attempt, d.priority, d.status = 'queued' AND d.unmet = 0,
     d.status = 'pending' AND d.unmet = 0
    INTO o_uid, o_attempt, o_priority, v_ready, v_wait;
    IF v_ready THEN v_inflight := v_inflight + 1; RETURN NEXT; END IF;
    IF v_wait THEN v_held := v_held + 1; v_held_next := least(v_held_next, v_i); END IF;
   END LOOP;
   -- room under the cap: release held ones, in definition order
   IF v_cap > 0 AND v_held > 0 AND v_inflight < v_cap AND v_status = 'running' THEN
    v_n := 0;
    FOR o_uid, o_attempt, o_priority, v_i IN
     WITH r AS (SELECT h.idx FROM weft_activity h
       WHERE h.workflow_uid = p_wf AND h.idx >= v_held_next AND h.status = 'pending'
       AND h.unmet = 0 AND h.map_parent IS NULL ORDER BY h.idx LIMIT v_cap - v_inflight)
     UPDATE weft_activity d SET status = 'queued', queued_at = now() FROM r
      WHERE d.workflow_uid = p_wf AND d.idx = r.idx
      RETURNING d.uid, d.attempt, d.priority, d.idx
    LOOP
     v_n := v_n + 1;
     v_held_next := greatest(v_held_next, v_i + 1);
     RETURN NEXT;
    END LOOP;
    v_inflight := v_inflight + v_n; v_held := v_held - v_n;
   END IF;
  ELSIF v_status = 'running' THEN
   -- Failed for good: everything not yet running is canceled, waiting maps and child
   -- activities (running without a lease) with it, as nothing else would settle them.
   WITH c AS (UPDATE weft_activity d SET status = 'canceled', finished_at = now()
     WHERE d.workflow_uid = p_wf AND (d.status IN ('pending','queued','retrying')
      OR (d.status = 'running' AND d.lease_until IS NULL))
     RETURNING 1)
   UPDATE weft_workflow w SET status = 'failed', finished_at = now(), updated_at = now(),
    error = format('activity ''%s'' failed: %s', v_name,
     coalesce(v_error, 'unknown error')),
    remaining = w.remaining - (SELECT count(*) FROM c) WHERE w.uid = p_wf;
   PERFORM pg_notify('weft_workflow', p_wf::text);
   v_status := 'failed';
  END IF;
  IF v_cap > 0 THEN
   UPDATE weft_workflow w SET inflight = v_inflight, held = v_held, held_next = v_held_next
    WHERE w.uid = p_wf;
  END IF;
  IF v_remaining = 0 AND v_act_status = 'completed' AND v_status = 'running' THEN
   UPDATE weft_workflow w SET status = 'completed', finished_at = now(),
    output = (SELECT jsonb_object_agg(a.name, a.output) FROM weft_activity a
     WHERE a.workflow_uid = p_wf AND cardinality(a.downstream) = 0
     AND a.map_parent IS NULL)
    WHERE w.uid = p_wf;
   PERFORM pg_notify('weft_workflow', p_wf::text);
   v_status := 'completed';
  END IF;
  IF v_status IN ('completed', 'failed') THEN
   FOR v_p IN SELECT * FROM weft_child_settled(p_wf) LOOP
    o_status := v_status; o_outcome := 'parent';
    o_uid := v_p.o_activity; o_attempt := v_p.o_attempt; o_priority := 0;
    RETURN NEXT;
   END LOOP;
  END IF;
  o_status := v_status; o_outcome := 'handed_off';
  o_uid := NULL; o_attempt := NULL; o_priority := NULL;
  RETURN NEXT;
 END $fn$;
