#!/usr/bin/env bash
# tests/faults/run.sh [--soak] [--list] [SCENARIO ...] - the fault suite (README.md here).
#
# Starts its own RabbitMQ, Postgres and Redis (own state dir and ports, so it never meets
# the services of the other tests or of the benchmark), then runs each selected scenario
# (default: all) with fresh consumer processes: a real load, a fault injected mid-run, a
# drain, and one line of figures checked from Postgres:
#
#   SCENARIO: submitted N, completed N, failed N (planned N), lost 0, swept N, stuck 0,
#             duplicate executions 0
#
# Exits non-zero when any scenario failed. --soak multiplies the load and the number of
# fault injections. Stops everything it started on exit.
#
# Environment (all optional):
#   WEFT_FAULTS_BUILD_DIR    build to take the consumers (the suite's builds of them,
#                            tests/faults/fault-weft-*) and fault_load from (meson sets it;
#                            otherwise `deploy/setup.sh build` builds <repo>/build)
#   WEFT_FAULTS_STATE_DIR    services' state, logs and data (<repo>/tests/faults/.state)
#   WEFT_FAULTS_AMQP_PORT (5702), WEFT_FAULTS_RABBIT_DIST_PORT (25702),
#   WEFT_FAULTS_EPMD_PORT (4399), WEFT_FAULTS_REDIS_PORT (6409), WEFT_FAULTS_PG_PORT (5462)
#   WEFT_FAULTS_CLUSTER_AMQP_PORT (5740: rabbitmq_cluster's three nodes on 5740-5742),
#   WEFT_FAULTS_CLUSTER_DIST_PORT (25740), WEFT_FAULTS_CLUSTER_EPMD_PORT (4439)
#   WEFT_FAULTS_LOAD         the driver (default <build>/tests/faults/fault_load)
#   WEFT_FAULTS_SCALE        multiplies the load (default 1, --soak 5)
#   WEFT_FAULTS_DRAIN_S      drain timeout per scenario (default 120, --soak 600)
#   WEFT_FAULTS_ALARM_S      how long disk_alarm holds the alarm (default 10)
#   WEFT_FAULTS_SIGSTOP_S    how long handoff_sigstop stops the handoff (default 8: longer
#                            than its 5 s workflow-lock lease)
#   WEFT_FAULTS_REFUSE_S     how long refused_dispatch keeps its policy on `default` (10)
#   WEFT_FAULTS_TRANSIENT    share of the load's activities that fail TRANSIENT for their
#                            first 1 or 2 attempts, then succeed (default 0.1)
#   WEFT_FAULTS_PERMANENT    share of the load's workflows with one activity that fails
#                            PERMANENT, so the workflow must fail (default 0.04)
#   WEFT_FAULTS_HOSTILE_KINDS  hostile scenario: only these kinds (words of their names,
#                            comma-separated, e.g. "MiB,nesting"), to find what a consumer
#                            trips on
#   WEFT_FAULTS_SANITIZE     the build's b_sanitize (meson sets it): the RSS bound of the
#                            hostile scenario is reported but not enforced under ASan
#
# The suite's own WEFT_FAULTS_* names are deliberate: the README's test command exports
# WEFT_STATE_DIR and the URLs of the shared services, which this script must not follow.
set -uo pipefail

FAULTS_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$FAULTS_DIR/../.." && pwd)"

ALL_SCENARIOS=(activity_kill handoff_standby handoff_restart entry_kill rabbitmq_restart
               postgres_restart redis_restart duplicates hostile sigterm disk_alarm consumer_timeout
               handoff_sigstop refused_dispatch handoff_shard_kill rabbitmq_cluster)

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    echo "scenarios: ${ALL_SCENARIOS[*]}"
}

SOAK=0
SELECTED=()
for arg in "$@"; do
    case "$arg" in
        --soak) SOAK=1 ;;
        --list) printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "run.sh: unknown flag $arg" >&2; usage >&2; exit 2 ;;
        *)
            if [[ " ${ALL_SCENARIOS[*]} " != *" $arg "* ]]; then
                echo "run.sh: unknown scenario '$arg' (known: ${ALL_SCENARIOS[*]})" >&2
                exit 2
            fi
            SELECTED+=("$arg") ;;
    esac
done
[ ${#SELECTED[@]} -gt 0 ] || SELECTED=("${ALL_SCENARIOS[@]}")

# ------------------------------------------------------------------ settings ---

SCALE="${WEFT_FAULTS_SCALE:-$([ "$SOAK" = 1 ] && echo 5 || echo 1)}"
DRAIN_S="${WEFT_FAULTS_DRAIN_S:-$([ "$SOAK" = 1 ] && echo 600 || echo 120)}"
LOAD_N=$((300 * SCALE))   # workflows per scenario
LOAD_MS=20:50             # sleep of each activity
ROUNDS=$([ "$SOAK" = 1 ] && echo 5 || echo 2)   # injections of the one-shot faults
ACTIVITY_PROCS=3
ACTIVITY_CONCURRENCY=3
SWEEP=(--sweep-interval 5 --sweep-after 10)
GRACE_S=10
RSS_LIMIT_KB=10240
HOSTILE_N=1000
ALARM_S="${WEFT_FAULTS_ALARM_S:-10}"
ALARM_GRACE_S=3   # the grace of the consumer SIGTERM'd during the alarm: shorter than it
SIGSTOP_S="${WEFT_FAULTS_SIGSTOP_S:-8}"
LOCK_LEASE_S=5    # the workflow lock's lease (common/engine.c): SIGSTOP_S must outlast it
REFUSE_S="${WEFT_FAULTS_REFUSE_S:-10}"
REFUSE_MAX_LENGTH=5
REFUSE_POLICY=weft-faults-refuse
# Planned failures in every scenario's load (test.record_sleep, fault_hooks.c), so that the
# retry and failure paths run under the faults too; half the entry messages name their
# workflow by message_id alone, so the entry's dedup by message id runs under them as well.
TRANSIENT="${WEFT_FAULTS_TRANSIENT:-0.1}"
PERMANENT="${WEFT_FAULTS_PERMANENT:-0.04}"
BY_MESSAGE_ID=0.5

# The suite's own services: never the defaults of deploy/services.sh.
export WEFT_STATE_DIR="${WEFT_FAULTS_STATE_DIR:-$FAULTS_DIR/.state}"
export WEFT_AMQP_PORT="${WEFT_FAULTS_AMQP_PORT:-5702}"
export WEFT_RABBIT_DIST_PORT="${WEFT_FAULTS_RABBIT_DIST_PORT:-25702}"
export WEFT_EPMD_PORT="${WEFT_FAULTS_EPMD_PORT:-4399}"
export WEFT_REDIS_PORT="${WEFT_FAULTS_REDIS_PORT:-6409}"
export WEFT_PG_PORT="${WEFT_FAULTS_PG_PORT:-5462}"
unset WEFT_AMQP_URL WEFT_DATABASE_URL WEFT_REDIS_URL WEFT_FAULTS_DUPLICATE_PUBLISH
SERVICES="$REPO/deploy/services.sh"
# rabbitmq_cluster's own RabbitMQ cluster (deploy/cluster.sh), beside the suite's services
CLUSTER="$REPO/deploy/cluster.sh"
CLUSTER_ENV=(WEFT_CLUSTER_STATE_DIR="$WEFT_STATE_DIR/cluster" WEFT_CLUSTER_NODES=3
             WEFT_CLUSTER_AMQP_PORT="${WEFT_FAULTS_CLUSTER_AMQP_PORT:-5740}"
             WEFT_CLUSTER_DIST_PORT="${WEFT_FAULTS_CLUSTER_DIST_PORT:-25740}"
             WEFT_CLUSTER_EPMD_PORT="${WEFT_FAULTS_CLUSTER_EPMD_PORT:-4439}")
CLUSTER_UP=0

say() { printf 'faults: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- the build ---

if [ -n "${WEFT_FAULTS_BUILD_DIR:-}" ]; then
    BUILD="$WEFT_FAULTS_BUILD_DIR"
else
    "$REPO/deploy/setup.sh" build || { say "build failed"; exit 1; }
    BUILD="$REPO/build"
fi

SANITIZED=0
case "${WEFT_FAULTS_SANITIZE:-none}" in none|"") ;; *) SANITIZED=1 ;; esac

# -------------------------------------------------------------- processes ---

declare -A PID=()   # role (entry, activity-1, handoff-a, ...) -> pid of its current process
STARTED=()          # every pid this script started, for the cleanup
CONSUMER_ENV=()     # extra NAME=VALUE for the consumers of the current scenario

alive() { # PID: exists and is no zombie
    local st
    [[ "${1:-}" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    read -r st <"/proc/$1/stat" 2>/dev/null || return 1
    st="${st##*) }"
    [ "${st%% *}" != Z ]
}

# start ROLE BINARY [ARGS...]: a consumer with its log in the scenario's folder
start() {
    local role="$1" bin="$2"
    shift 2
    local log="$SC_LOGS/$role.log"
    printf '=== %s start %s %s\n' "$(date +%T.%3N)" "${bin##*/}" "$*" >>"$log"
    env "${CONSUMER_ENV[@]}" "$bin" "$@" >>"$log" 2>&1 8>&- &
    PID[$role]=$!
    STARTED+=($!)
}

# wait_ready ROLE...: each has logged that it consumes (all its threads: READY_LINES[ROLE]
# lines where set), or died
declare -A READY_LINES=()
wait_ready() {
    local role want got deadline=$((SECONDS + 30))
    for role in "$@"; do
        want=${READY_LINES[$role]:-1}
        [[ "$role" == activity-* ]] && want=$ACTIVITY_CONCURRENCY
        while :; do
            got=$(awk '/^=== /{n=0} /consuming/{n++} END{print n+0}' "$SC_LOGS/$role.log")
            [ "$got" -ge "$want" ] && break
            alive "${PID[$role]}" || { say "$role exited at start-up"; return 1; }
            (( SECONDS >= deadline )) && { say "$role not consuming after 30 s"; return 1; }
            sleep 0.1
        done
    done
}

# reap PID: REAP_RC gets its exit status (bash keeps it for its children). Never call this
# (or stop) in $(...): a subshell cannot wait for the main shell's children.
REAP_RC=0
reap() {
    REAP_RC=0
    wait "$1" 2>/dev/null || REAP_RC=$?
}

# kill9 ROLE: SIGKILL and reap
kill9() {
    local p="${PID[$1]:-}"
    [ -n "$p" ] || return 0
    printf '=== %s kill -9 %s\n' "$(date +%T.%3N)" "$p" >>"$SC_LOGS/$1.log"
    kill -KILL "$p" 2>/dev/null
    reap "$p"
    unset "PID[$1]"
}

# stop ROLE [SECONDS]: SIGTERM, SIGKILL after SECONDS (15); STOP_RC and STOP_MS get its
# exit status and how long it took
STOP_RC=0
STOP_MS=0
stop() {
    local role="$1" limit="${2:-15}" p="${PID[$1]:-}" t0
    STOP_RC=none
    STOP_MS=0
    [ -n "$p" ] || return 0
    t0=$(now_ms)
    kill -TERM "$p" 2>/dev/null
    while alive "$p" && (( $(now_ms) - t0 < limit * 1000 )); do sleep 0.05; done
    if alive "$p"; then
        printf '=== %s no exit %s s after SIGTERM: kill -9\n' "$(date +%T.%3N)" "$limit" \
            >>"$SC_LOGS/$role.log"
        kill -KILL "$p" 2>/dev/null
    fi
    reap "$p"
    STOP_RC=$REAP_RC
    STOP_MS=$(( $(now_ms) - t0 ))
    printf '=== %s exit %s after %s ms\n' "$(date +%T.%3N)" "$STOP_RC" "$STOP_MS" \
        >>"$SC_LOGS/$role.log"
    unset "PID[$role]"
}

# stop_all: SIGTERM every consumer of the scenario; a dirty exit is noted, not fatal
stop_all() {
    local role
    for role in "${!PID[@]}"; do kill -TERM "${PID[$role]}" 2>/dev/null; done
    for role in "${!PID[@]}"; do
        stop "$role"
        [ "$STOP_RC" = 0 ] || note "$role exited with status $STOP_RC at the end of the scenario"
    done
}

# Only what this script started: its consumers and drivers by pid, its own services.
cleanup() {
    local p
    # SIGCONT first: a consumer left stopped (handoff_sigstop) would not act on SIGTERM
    for p in "${STARTED[@]}"; do alive "$p" && kill -CONT "$p" 2>/dev/null; done
    for p in "${STARTED[@]}"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 1 50); do
        local left=0
        for p in "${STARTED[@]}"; do alive "$p" && left=1; done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    for p in "${STARTED[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
    disk_alarm_clear
    refuse_clear
    consumer_timeout_restore
    cluster_down
    "$SERVICES" stop >/dev/null 2>&1 || true
}

# start_consumers [ACTIVITY_ARGS...]: the standard set, one handoff
start_consumers() {
    local i roles=(entry handoff)
    start entry "$BIN_ENTRY"
    start handoff "$BIN_HANDOFF" "${SWEEP[@]}"
    for i in $(seq 1 $ACTIVITY_PROCS); do
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY "$@"
        roles+=("activity-$i")
    done
    wait_ready "${roles[@]}"
}

# ---------------------------------------------------------------- figures ---

psql_q() { psql "$WEFT_DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -F ' ' -f - 2>&1; }

# The scenario's workflows (and execution records) as temporary tables u(...) and r(...):
# u holds what fault_load planned for each workflow (uid, expected terminal status, the
# activity planned to fail PERMANENT or '-', the tag its inputs carry).
sql_tables() {
    echo "CREATE TEMP TABLE u (uid uuid, expect text, failing text, tag text);"
    echo "COPY u FROM STDIN WITH (DELIMITER ' ');"
    cat "$SC_UIDS"
    echo '\.'
    echo "CREATE TEMP TABLE r (activity_uid uuid, attempt integer);"
    echo "COPY r FROM STDIN WITH (DELIMITER ' ');"
    [ -f "$SC_DATA/executions.log" ] && cat "$SC_DATA/executions.log"
    echo '\.'
}

terminal_count() {
    { sql_tables
      echo "SELECT count(*) FROM u JOIN weft_workflow w USING (uid)
            WHERE w.status IN ('completed', 'failed', 'canceled');"
    } | psql_q
}

# wait_progress FRACTION: until that share of the load is terminal (or the drain timeout)
wait_progress() {
    local n want deadline=$((SECONDS + DRAIN_S))
    n=$(wc -l <"$SC_UIDS")
    want=$(awk -v n="$n" -v f="$1" 'BEGIN { printf "%d", n * f }')
    while (( $(terminal_count) < want && SECONDS < deadline )); do sleep 0.3; done
}

# wait_round R: the moment of the R-th of ROUNDS injections, spread from 20 % to 80 % of the
# load
wait_round() {
    wait_progress "$(awk -v r="$1" -v n="$ROUNDS" 'BEGIN { print 0.2 + 0.6 * (r - 1) / n }')"
}

load_done() { [ "$(terminal_count)" -ge "$(wc -l <"$SC_UIDS")" ]; }

# drain: until every submitted workflow is terminal, or the drain timeout
drain() {
    local deadline=$((SECONDS + DRAIN_S)) n
    n=$(wc -l <"$SC_UIDS")
    while (( SECONDS < deadline )); do
        [ "$(terminal_count)" -ge "$n" ] && return 0
        sleep 1
    done
    say "$SC: drain timeout (${DRAIN_S} s) with $(( n - $(terminal_count) )) of $n workflows not terminal"
    return 1
}

# The figures of the scenario's load, as NAME=VALUE lines.
figures() {
    { sql_tables
      cat <<'SQL'
CREATE TEMP TABLE w AS
    SELECT u.uid, u.expect, u.failing, u.tag, wf.status, wf.error
    FROM u LEFT JOIN weft_workflow wf USING (uid);
CREATE TEMP TABLE a AS SELECT act.* FROM weft_activity act JOIN u ON act.workflow_uid = u.uid;
CREATE TEMP TABLE ex AS
    SELECT r.activity_uid, r.attempt, count(*) AS n FROM r JOIN a ON a.uid = r.activity_uid
    GROUP BY 1, 2;
CREATE TEMP TABLE t AS
    SELECT t.*, t.error LIKE 'test.record_sleep: planned %' AS planned
    FROM weft_attempt t JOIN a ON a.uid = t.activity_uid;
SELECT 'submitted=' || count(*) FROM w;
SELECT 'completed=' || count(*) FILTER (WHERE status = 'completed') FROM w;
SELECT 'failed=' || count(*) FILTER (WHERE status = 'failed') FROM w;
SELECT 'planned_failed=' || count(*) FILTER (WHERE expect = 'failed') FROM w;
SELECT 'canceled=' || count(*) FILTER (WHERE status = 'canceled') FROM w;
-- lost: never reached the terminal state the load planned for it (never created, not
-- terminal, or terminal in another state)
SELECT 'lost=' || count(*) FILTER (WHERE status IS DISTINCT FROM expect) FROM w;
SELECT 'never_created=' || count(*) FILTER (WHERE status IS NULL) FROM w;
-- mismatched: in the planned state, but not the way the load planned it. A planned failure:
-- its PERMANENT activity failed with the planned error (the workflow's error too), and
-- nothing downstream of it ran or ended other than canceled. A completed workflow: every
-- activity planned to fail TRANSIENT K times completed at attempt K + 1 or later.
WITH RECURSIVE down(workflow_uid, idx) AS (
    SELECT a.workflow_uid, d FROM w JOIN a ON a.workflow_uid = w.uid AND a.name = w.failing
         CROSS JOIN unnest(a.downstream) d
    WHERE w.expect = 'failed' AND w.status = 'failed'
    UNION
    SELECT a.workflow_uid, d FROM down JOIN a USING (workflow_uid, idx)
         CROSS JOIN unnest(a.downstream) d)
SELECT 'mismatched=' || (
    (SELECT count(*) FROM w WHERE expect = 'failed' AND status = 'failed'
        AND (error IS NULL OR error NOT LIKE '%planned permanent failure%'
             OR NOT EXISTS (SELECT 1 FROM a WHERE a.workflow_uid = w.uid AND a.name = w.failing
                              AND a.status = 'failed'
                              AND a.error LIKE '%planned permanent failure%')))
  + (SELECT count(*) FROM (SELECT DISTINCT workflow_uid, idx FROM down) d
        JOIN a USING (workflow_uid, idx)
        WHERE a.status <> 'canceled' OR EXISTS (SELECT 1 FROM r WHERE r.activity_uid = a.uid))
  + (SELECT count(*) FROM a JOIN w ON w.uid = a.workflow_uid
        WHERE w.status = 'completed' AND a.params ? 'fail_transient'
          AND a.attempt <= (a.params->>'fail_transient')::int));
-- created twice: one tag (one entry message) behind more than one workflow
SELECT 'created_twice=' || count(*) FROM (
    SELECT wf.inputs->>'tag' FROM weft_workflow wf JOIN u ON wf.inputs->>'tag' = u.tag
    GROUP BY 1 HAVING count(*) > 1) x;
-- stuck: an activity left non-terminal inside a terminal workflow, or `running` past its
-- lease. The lease column (weft_activity.lease_until, set while running and renewed by the
-- worker) is newer than this suite: where the schema has it both rules count, otherwise
-- only the first, and stuck_rules says which.
SELECT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'weft_activity'
                 AND column_name = 'lease_until') AS has_lease \gset
\if :has_lease
SELECT 'stuck=' || count(*) FROM a JOIN w ON w.uid = a.workflow_uid
    WHERE (w.status IN ('completed', 'failed', 'canceled')
           AND a.status IN ('pending', 'queued', 'running', 'retrying'))
       OR (a.status = 'running' AND a.lease_until < now());
SELECT 'stuck_rules=non-terminal in a terminal workflow, running past its lease';
\else
SELECT 'stuck=' || count(*) FROM a JOIN w ON w.uid = a.workflow_uid
    WHERE w.status IN ('completed', 'failed', 'canceled')
      AND a.status IN ('pending', 'queued', 'running', 'retrying');
SELECT 'stuck_rules=non-terminal in a terminal workflow (no lease column yet)';
\endif
SELECT 'duplicates=' || coalesce(sum(n - 1), 0) FROM ex WHERE n > 1;
SELECT 'executions=' || coalesce(sum(n), 0) FROM ex;
SELECT 'activities=' || count(*) FROM a;
SELECT 'retried=' || count(*) FILTER (WHERE attempt > 1) FROM a;
SELECT 'max_attempt=' || coalesce(max(attempt), 0) FROM a;
SELECT 'attempts=' || count(*) FROM t;
SELECT 'failed_attempts=' || count(*) FILTER (WHERE status = 'failed') FROM t;
SELECT 'planned_failed_attempts=' || count(*) FILTER (WHERE status = 'failed' AND planned) FROM t;
SELECT 'planned_transient_attempts=' || count(*)
    FILTER (WHERE status = 'failed' AND error LIKE 'test.record_sleep: planned transient %') FROM t;
SELECT 'unplanned_failed_attempts=' || count(*) FILTER (WHERE status = 'failed' AND NOT planned)
    FROM t;
SQL
    } | psql_q
}

# swept: what the sweeper re-sent over the scenario, from the handoff logs. One line per sweep
# that re-sent anything, `sweep: re-sent N (lost dispatches A, expired leases B, lost
# handoffs C)`, or the older `sweeper re-dispatched N stuck activities`. Prints "N A B C L":
# A, B, C summed over the L lines of the newer form (the older one has no split).
swept() {
    cat "$SC_LOGS"/handoff*.log 2>/dev/null | awk '
        match($0, /sweep: re-sent [0-9]+ \(lost dispatches [0-9]+, expired leases [0-9]+, lost handoffs [0-9]+\)/) {
            split(substr($0, RSTART, RLENGTH), f, /[^0-9]+/)
            n += f[2]; a += f[3]; b += f[4]; c += f[5]; l++; next
        }
        match($0, /sweeper re-dispatched [0-9]+ stuck activities/) {
            split(substr($0, RSTART, RLENGTH), f, /[^0-9]+/)
            n += f[2]
        }
        END { printf "%d %d %d %d %d\n", n, a, b, c, l }'
}

# Evidence for a failed scenario: what the unfinished workflows look like, the queues, and
# the errors the consumers logged.
diagnose() {
    say "$SC: evidence (logs in $SC_LOGS)"
    { sql_tables
      cat <<'SQL'
SELECT 'workflow ' || u.uid || ' ' || coalesce(w.status, 'NOT CREATED') || ' (planned '
       || u.expect || CASE WHEN u.failing <> '-' THEN ' by ' || u.failing ELSE '' END
       || ') remaining=' || coalesce(w.remaining::text, '-') || ' activities: '
       || coalesce((SELECT string_agg(a.name || '=' || a.status || '#' || a.attempt
                                      || CASE WHEN a.handed_off THEN '' ELSE '(not handed off)' END,
                                      ' ' ORDER BY a.idx)
                    FROM weft_activity a WHERE a.workflow_uid = w.uid), '')
FROM u LEFT JOIN weft_workflow w USING (uid)
WHERE w.status IS DISTINCT FROM u.expect
   OR EXISTS (SELECT 1 FROM weft_activity a WHERE a.workflow_uid = w.uid
                AND a.status IN ('pending', 'queued', 'running', 'retrying')
                AND w.status IN ('completed', 'failed', 'canceled'))
LIMIT 8;
SELECT 'failed attempt error: ' || count(*) || ' x ' || left(t.error, 160)
FROM weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid JOIN u ON a.workflow_uid = u.uid
WHERE t.status = 'failed' GROUP BY t.error ORDER BY count(*) DESC LIMIT 6;
SQL
    } | psql_q | sed 's/^/    /' >&2
    say "$SC: queues: $("$LOAD" queues 2>&1)"
    local f
    for f in "$SC_LOGS"/*.log; do
        grep -E 'ERROR|WARN|=== ' "$f" | grep -v '^=== .* start ' | tail -n 6 \
            | sed "s|^|    ${f##*/}: |" >&2
    done
}

NOTES=()
note() { NOTES+=("$*"); }

# report: prints the figure line from SC_FIGURES (taken at the end of the scenario, before
# its consumers stop), checks it, returns non-zero on a failure
report() {
    local -A f=()
    local line k v
    while IFS='=' read -r k v; do
        [ -n "$k" ] && f[$k]="$v"
    done <<<"$SC_FIGURES"
    if [ -z "${f[submitted]:-}" ] || [ -z "${f[unplanned_failed_attempts]:-}" ]; then
        say "$SC: cannot read the figures from Postgres"
        printf '%s\n' "$SC_FIGURES" >&2
        return 1
    fi
    local sweep_n sweep_a sweep_b sweep_c sweep_lines
    read -r sweep_n sweep_a sweep_b sweep_c sweep_lines < <(swept)
    line="submitted ${f[submitted]}, completed ${f[completed]}, failed ${f[failed]} (planned ${f[planned_failed]}), lost ${f[lost]}, swept $sweep_n, stuck ${f[stuck]}, duplicate executions ${f[duplicates]}"
    printf '%s: %s\n' "$SC" "$line"
    printf '%s:   %s activities, %s executions, %s retried activities (max attempt %s), %s failed attempts (%s planned), %s canceled, %s never created, %s created twice, %s mismatched, %s s\n' \
        "$SC" "${f[activities]}" "${f[executions]}" "${f[retried]}" "${f[max_attempt]}" \
        "${f[failed_attempts]}" "${f[planned_failed_attempts]}" "${f[canceled]}" \
        "${f[never_created]}" "${f[created_twice]}" "${f[mismatched]}" \
        "$(( ($(now_ms) - SC_T0) / 1000 ))"
    # 'lost' is the end state, 'swept' what the sweeper had to re-send to get there: 0 and 0
    # is nothing lost, 0 and N is lost, then swept
    if [ "$sweep_lines" -gt 0 ]; then
        note "the sweeper re-sent $sweep_n: lost dispatches $sweep_a, expired leases $sweep_b, lost handoffs $sweep_c"
    elif [ "$sweep_n" -gt 0 ]; then
        note "the sweeper re-sent $sweep_n (this handoff logs no split into lost dispatches, expired leases, lost handoffs)"
    fi
    note "stuck counts: ${f[stuck_rules]}"
    local n errors warnings
    errors=$(cat "$SC_LOGS"/*.log 2>/dev/null | grep -c ' error ')
    warnings=$(cat "$SC_LOGS"/*.log 2>/dev/null | grep -c ' warn ')
    note "the consumers logged $errors error and $warnings warning lines"
    for n in "${NOTES[@]}"; do printf '%s:   note: %s\n' "$SC" "$n"; done
    # Each workflow must end as the load planned it (completed, or failed by its PERMANENT
    # activity), each entry message make one workflow, and each (activity, attempt) run at
    # most once: every planned failure raises the attempt number, so a second run of one
    # attempt, or any other outcome, is the fault leaking through.
    [ "${f[lost]}" = 0 ] || SC_FAILS+=("${f[lost]} lost (not in their planned terminal state)")
    [ "${f[mismatched]}" = 0 ] || SC_FAILS+=("${f[mismatched]} outcomes not as planned")
    [ "${f[created_twice]}" = 0 ] || SC_FAILS+=("${f[created_twice]} entry messages created two workflows")
    [ "${f[stuck]}" = 0 ] || SC_FAILS+=("${f[stuck]} stuck activities")
    [ "${f[canceled]}" = 0 ] || SC_FAILS+=("${f[canceled]} canceled workflows")
    [ "${f[duplicates]}" = 0 ] || SC_FAILS+=("${f[duplicates]} duplicate executions")
    # a load of 100 or more holds both kinds of planned failure (unless turned off), so the
    # checks above are never checks of a load without them
    if [ "${f[submitted]}" -ge 100 ]; then
        awk -v p="$PERMANENT" 'BEGIN { exit !(p > 0) }' && [ "${f[planned_failed]}" = 0 ] \
            && SC_FAILS+=("no workflow of the load was planned to fail")
        awk -v p="$TRANSIENT" 'BEGIN { exit !(p > 0) }' && [ "${f[planned_transient_attempts]}" = 0 ] \
            && SC_FAILS+=("no planned TRANSIENT failure ran")
    fi
    [ "${f[submitted]}" -gt 0 ] || SC_FAILS+=("nothing submitted")
    FIG_EXECUTIONS="${f[executions]}"
    FIG_ATTEMPTS="${f[attempts]}"
    FIG_UNPLANNED="${f[unplanned_failed_attempts]}"
    FIG_PLANNED_FAILED_ATTEMPTS="${f[planned_failed_attempts]}"
}

# ---------------------------------------------------------------- scenarios ---

# submit [FLAGS...]: the standard load, into the scenario's uid file
PLANNED=(--transient "$TRANSIENT" --permanent "$PERMANENT" --by-message-id "$BY_MESSAGE_ID")
submit() {
    "$LOAD" submit --count "$LOAD_N" --out "$SC_UIDS" --record executions.log --ms "$LOAD_MS" \
        --seed "$SC_SEED" "${PLANNED[@]}" "$@" 2>>"$SC_LOGS/driver.log"
}

# submit_bg [FLAGS...]: the same in the background; DRIVER gets its pid
DRIVER=""
submit_bg() {
    "$LOAD" submit --count "$LOAD_N" --out "$SC_UIDS" --record executions.log --ms "$LOAD_MS" \
        --seed "$SC_SEED" "${PLANNED[@]}" "$@" 2>>"$SC_LOGS/driver.log" 8>&- &
    DRIVER=$!
    STARTED+=("$DRIVER")
}

# 1. kill -9 one activity consumer every ~2 s, restarting it each time, while two others run.
sc_activity_kill() {
    start_consumers || return 1
    # submitted over ~10 s, so that the kills meet every phase of the run
    submit_bg --rate 30
    local kills=0
    sleep 1
    while { alive "$DRIVER" || ! load_done; } && (( SECONDS < SC_DEADLINE )); do
        sleep 2
        kill9 activity-1
        start activity-1 "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY
        kills=$((kills + 1))
    done
    reap "$DRIVER"
    [ "$REAP_RC" = 0 ] || { SC_FAILS+=("the driver failed (status $REAP_RC)"); return 1; }
    note "$kills kill -9 of activity-1, restarted each time"
    drain
}

# 2a. kill -9 the active handoff consumer while a standby runs.
sc_handoff_standby() {
    start entry "$BIN_ENTRY"
    start handoff-1 "$BIN_HANDOFF" "${SWEEP[@]}"
    wait_ready handoff-1 || return 1
    start handoff-2 "$BIN_HANDOFF" "${SWEEP[@]}"
    local i
    for i in $(seq 1 $ACTIVITY_PROCS); do
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY
    done
    wait_ready entry handoff-2 activity-1 activity-2 activity-3 || return 1
    submit || return 1
    # the first subscriber is the active one (x-single-active-consumer); after each kill the
    # standby takes over, and a new standby is started for the next round
    local active=1 next=3 r
    for r in $(seq 1 $ROUNDS); do
        wait_round "$r"
        kill9 "handoff-$active"
        note "round $r: kill -9 of the active handoff-$active"
        active=$((active + 1))
        if [ "$r" -lt "$ROUNDS" ]; then
            start "handoff-$next" "$BIN_HANDOFF" "${SWEEP[@]}"
            next=$((next + 1))
        fi
    done
    drain
    alive "${PID[handoff-$active]:-}" || SC_FAILS+=("the standby handoff-$active is not running")
}

# 2b. kill -9 the only handoff consumer, restart it 2 s later.
sc_handoff_restart() {
    start_consumers || return 1
    submit || return 1
    local r
    for r in $(seq 1 $ROUNDS); do
        wait_round "$r"
        kill9 handoff
        sleep 2
        start handoff "$BIN_HANDOFF" "${SWEEP[@]}"
        note "round $r: kill -9 of the only handoff, restarted 2 s later"
    done
    drain
}

# 3. kill -9 the entry consumer during a burst of submits, restarting it each time.
sc_entry_kill() {
    start_consumers || return 1
    submit_bg --rate 100
    local kills=0
    sleep 0.5
    while alive "$DRIVER"; do
        kill9 entry
        sleep 0.2
        start entry "$BIN_ENTRY"
        kills=$((kills + 1))
        sleep 0.7
    done
    reap "$DRIVER"
    [ "$REAP_RC" = 0 ] || { SC_FAILS+=("the driver failed (status $REAP_RC)"); return 1; }
    note "$kills kill -9 of entry during a $((LOAD_N / 100)) s burst of submits"
    drain
}

# 4. restart one service mid-run (ROUNDS times).
restart_service() {
    local svc="$1" r t0
    start_consumers || return 1
    submit || return 1
    for r in $(seq 1 $ROUNDS); do
        wait_round "$r"
        t0=$(now_ms)
        if ! "$SERVICES" restart "$svc" >>"$SC_LOGS/services.log" 2>&1 8>&-; then
            SC_FAILS+=("deploy/services.sh restart $svc failed (see $SC_LOGS/services.log)")
            "$SERVICES" start >>"$SC_LOGS/services.log" 2>&1 8>&-
            return 1
        fi
        note "round $r: $svc restarted in $(( $(now_ms) - t0 )) ms"
    done
    drain
}
sc_rabbitmq_restart() { restart_service rabbitmq; }
sc_postgres_restart() { restart_service postgres; }
sc_redis_restart() { restart_service redis; }

# 5. every message twice: the consumers publish everything twice (fault_hooks.c), the driver
# each entry message twice. The outcome must be that of a clean run.
sc_duplicates() {
    CONSUMER_ENV+=(WEFT_FAULTS_DUPLICATE_PUBLISH=1)
    start_consumers || return 1
    submit --twice || return 1
    drain
}
check_duplicates() {
    # a clean run: one execution per recorded attempt, and no attempt failed but the planned
    # ones (which alone raise attempt numbers here)
    [ "$FIG_EXECUTIONS" = "$FIG_ATTEMPTS" ] \
        || SC_FAILS+=("$FIG_EXECUTIONS executions for $FIG_ATTEMPTS recorded attempts")
    [ "$FIG_UNPLANNED" = 0 ] || SC_FAILS+=("$FIG_UNPLANNED attempts failed other than as planned")
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# 6. 1,000 hostile messages over the three queues next to a valid load: all end in
# weft.dead with a reason, every consumer survives and keeps its memory.
sc_hostile() {
    start_consumers || return 1
    # warm up (allocator arenas, prepared statements, connections) before measuring
    "$LOAD" submit --count 100 --out "$SC_DATA/warmup.uids" --ms 5:10 --seed 99 \
        2>>"$SC_LOGS/driver.log" || return 1
    local keep="$SC_UIDS"
    SC_UIDS="$SC_DATA/warmup.uids"
    drain || { SC_UIDS="$keep"; return 1; }
    SC_UIDS="$keep"
    local drained
    drained=$("$LOAD" dead-drain)
    [ "$drained" = 0 ] || note "emptied weft.dead of $drained earlier messages first"
    local -A before=()
    local role
    for role in "${!PID[@]}"; do before[$role]=$(rss_kb "${PID[$role]}"); done

    local out sent bytes
    out=$("$LOAD" hostile --count "$HOSTILE_N" ${WEFT_FAULTS_HOSTILE_KINDS:+--kinds "$WEFT_FAULTS_HOSTILE_KINDS"} \
        2>>"$SC_LOGS/driver.log") || return 1
    read -r _ sent _ bytes <<<"$out"
    LOAD_N=$((100 * SCALE)) submit || return 1
    local check rc=0
    check=$("$LOAD" dead-check --expect "$sent" --bytes "$bytes" --timeout "$DRAIN_S" \
        2>>"$SC_LOGS/driver.log") || rc=$?
    note "hostile: $sent published ($bytes bytes); weft.dead: $check"
    [ "$rc" = 0 ] || SC_FAILS+=("weft.dead: expected $sent messages with x-weft-reason and $bytes bytes, got: $check")
    grep -E '^fault_load: +[0-9]+ x ' "$SC_LOGS/driver.log" | tail -n 12 \
        | sed 's/^fault_load: */reason: /' >"$SC_DATA/reasons.txt"
    drain
    sleep 1
    local after growth
    for role in $(printf '%s\n' "${!PID[@]}" | sort); do
        if ! alive "${PID[$role]}"; then
            reap "${PID[$role]}"
            SC_FAILS+=("$role died (status $REAP_RC)")
            unset "PID[$role]"
            continue
        fi
        after=$(rss_kb "${PID[$role]}")
        growth=$((after - before[$role]))
        note "$role RSS ${before[$role]} -> $after kB (growth $growth kB)"
        if [ "$growth" -ge "$RSS_LIMIT_KB" ]; then
            if [ "$SANITIZED" = 1 ]; then
                note "$role: RSS growth over $RSS_LIMIT_KB kB not enforced under a sanitizer"
            else
                SC_FAILS+=("$role RSS grew by $growth kB (limit $RSS_LIMIT_KB)")
            fi
        fi
    done
}

# 7. SIGTERM during long activities: the consumers finish them within the grace and exit 0,
# no attempt fails because of the shutdown; restarted, they complete everything.
sc_sigterm() {
    local grace=(--grace "$GRACE_S")
    local i roles=(entry handoff)
    start entry "$BIN_ENTRY" "${grace[@]}"
    start handoff "$BIN_HANDOFF" "${SWEEP[@]}" "${grace[@]}"
    for i in $(seq 1 $ACTIVITY_PROCS); do
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY "${grace[@]}"
        roles+=("activity-$i")
    done
    wait_ready "${roles[@]}" || return 1
    # one planned TRANSIENT failure at most per activity: each costs a 3 s attempt
    LOAD_N=$((18 * SCALE)) LOAD_MS=3000:3000 submit --shapes chain --chain-len 2 \
        --transient-max 1 || return 1
    # wait until most worker threads are inside a 3 s activity
    local slots=$((ACTIVITY_PROCS * ACTIVITY_CONCURRENCY)) running=0 deadline=$((SECONDS + 60))
    while (( SECONDS < deadline )); do
        running=$({ sql_tables
                    echo "SELECT count(*) FROM weft_activity a JOIN u ON a.workflow_uid = u.uid
                          WHERE a.status = 'running';"; } | psql_q)
        [ "$running" -ge $((slots * 2 / 3)) ] && break
        sleep 0.2
    done
    sleep 0.5
    note "SIGTERM to all consumers with $running activities running"
    local role t0
    t0=$(now_ms)
    for role in "${roles[@]}"; do kill -TERM "${PID[$role]}"; done
    for role in "${roles[@]}"; do
        stop "$role" $((GRACE_S + 5))
        STOP_MS=$(( $(now_ms) - t0 ))   # counted from the common SIGTERM
        note "$role exited with status $STOP_RC within $STOP_MS ms of SIGTERM"
        [ "$STOP_RC" = 0 ] || SC_FAILS+=("$role exited with status $STOP_RC on SIGTERM")
        [ "$STOP_MS" -le $((GRACE_S * 1000 + 1000)) ] \
            || SC_FAILS+=("$role took $STOP_MS ms to stop (grace ${GRACE_S} s)")
    done
    local failed
    failed=$({ sql_tables
               echo "SELECT count(*) FROM weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid
                     JOIN u ON a.workflow_uid = u.uid WHERE t.status = 'failed'
                       AND t.error NOT LIKE 'test.record_sleep: planned %';"; } | psql_q)
    [ "$failed" = 0 ] || SC_FAILS+=("$failed attempts failed because of the shutdown")
    start_consumers || return 1
    drain
}
check_sigterm() {
    [ "$FIG_UNPLANNED" = 0 ] || SC_FAILS+=("$FIG_UNPLANNED attempts failed other than as planned")
}

# The disk alarm: a disk_free_limit above the free space, and the limit to put back. The
# limit is set at run time only (a restart of RabbitMQ forgets it), but is put back on every
# exit all the same (cleanup).
DISK_LIMIT_RESTORE=""
ALARM_T0=0
rmqctl() { "$SERVICES" rabbitmqctl "$@" 8>&- 2>>"${SC_LOGS:-$WEFT_STATE_DIR}/services.log"; }
disk_alarm_raise() {
    local limit free
    limit=$(rmqctl eval 'rabbit_disk_monitor:get_disk_free_limit().')
    free=$(rmqctl eval 'rabbit_disk_monitor:get_disk_free().')
    [[ "$limit" =~ ^[0-9]+$ && "$free" =~ ^[0-9]+$ ]] \
        || { SC_FAILS+=("cannot read the disk limit ('$limit') or free space ('$free')"); return 1; }
    DISK_LIMIT_RESTORE=$limit
    # twice the free space: what the run writes meanwhile cannot clear it
    rmqctl set_disk_free_limit $((free * 2)) >/dev/null \
        || { SC_FAILS+=("rabbitmqctl set_disk_free_limit $((free * 2)) failed"); return 1; }
    ALARM_T0=$(now_ms)
    rmqctl eval 'rabbit_alarm:get_alarms().' | grep -q disk \
        || { SC_FAILS+=("no disk alarm after set_disk_free_limit $((free * 2))"); return 1; }
    note "disk alarm: disk_free_limit $limit -> $((free * 2)) bytes ($free free)"
}
disk_alarm_clear() {
    [ -n "$DISK_LIMIT_RESTORE" ] || return 0
    rmqctl set_disk_free_limit "$DISK_LIMIT_RESTORE" >/dev/null && DISK_LIMIT_RESTORE=""
}

# 8. a disk alarm held ALARM_S s mid-run: RabbitMQ blocks every connection that publishes
# (connection.blocked). The consumers must wait without tearing their connections down, a
# consumer SIGTERM'd meanwhile must still stop within its grace, and everything completes
# once the alarm clears.
sc_disk_alarm() {
    start_consumers --grace "$ALARM_GRACE_S" || return 1
    submit || return 1
    wait_round 1
    local raised
    raised=$(terminal_count)
    disk_alarm_raise || return 1
    sleep 2
    local p="${PID[activity-1]}" t_term exit_ms=""
    printf '=== %s SIGTERM during the disk alarm\n' "$(date +%T.%3N)" >>"$SC_LOGS/activity-1.log"
    t_term=$(now_ms)
    kill -TERM "$p"
    while (( $(now_ms) - ALARM_T0 < ALARM_S * 1000 )); do
        if [ -z "$exit_ms" ] && ! alive "$p"; then exit_ms=$(( $(now_ms) - t_term )); fi
        sleep 0.05
    done
    local held
    held=$(terminal_count)
    disk_alarm_clear || { SC_FAILS+=("rabbitmqctl could not clear the disk alarm"); return 1; }
    note "disk alarm held $(( $(now_ms) - ALARM_T0 )) ms: $raised workflows terminal when raised, $held when cleared"
    stop activity-1 $((ALARM_GRACE_S + 5))
    local when="during the alarm"
    [ -n "$exit_ms" ] || { exit_ms=$(( $(now_ms) - t_term )); when="after the alarm cleared"; }
    note "activity-1 (grace ${ALARM_GRACE_S} s) exited with status $STOP_RC $exit_ms ms after a SIGTERM during the alarm ($when)"
    [ "$STOP_RC" = 0 ] || SC_FAILS+=("activity-1 exited with status $STOP_RC on SIGTERM during the alarm")
    [ "$exit_ms" -le $((ALARM_GRACE_S * 1000 + 1000)) ] \
        || SC_FAILS+=("activity-1 took $exit_ms ms to stop after a SIGTERM during the alarm (grace ${ALARM_GRACE_S} s)")
    start activity-1 "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY --grace "$ALARM_GRACE_S"
    drain
    local blocked outages
    blocked=$(cat "$SC_LOGS"/*.log | grep -c 'blocked publishing')
    outages=$(cat "$SC_LOGS"/*.log | grep -c 'retrying with backoff')
    note "$blocked connections logged connection.blocked, $outages logged an outage"
    # the broker holds the publishes on purpose: a consumer that drops its connection over it
    # starts again on one that is blocked as soon as it publishes
    [ "$outages" = 0 ] || SC_FAILS+=("$outages outages (reconnects) during the disk alarm")
}

# The workflow locks in Redis (common/engine.c names them weft:lock:workflow:<uid>).
redis_locks() { redis-cli -u "$WEFT_REDIS_URL" --scan --pattern 'weft:lock:workflow:*' 2>/dev/null; }

# once by default (each stop costs SIGSTOP_S of the run), ROUNDS times with --soak
SIGSTOP_ROUNDS=$([ "$SOAK" = 1 ] && echo "$ROUNDS" || echo 1)
# 9. SIGSTOP of the active handoff for SIGSTOP_S s, longer than its workflow lock's lease,
# stopped at a moment it holds a lock, while a hot standby runs; then SIGCONT. The lock
# expires under the stopped holder, which must carry on from where it stopped (its broker
# connection outlives the pause: the heartbeat is 30 s, so the broker keeps it active and the
# standby keeps waiting), and everything completes.
sc_handoff_sigstop() {
    [ "$SIGSTOP_S" -gt "$LOCK_LEASE_S" ] \
        || { SC_FAILS+=("WEFT_FAULTS_SIGSTOP_S=$SIGSTOP_S does not outlast the ${LOCK_LEASE_S} s lock lease"); return 1; }
    start entry "$BIN_ENTRY"
    start handoff-1 "$BIN_HANDOFF" "${SWEEP[@]}"
    wait_ready handoff-1 || return 1
    start handoff-2 "$BIN_HANDOFF" "${SWEEP[@]}"
    local i
    for i in $(seq 1 $ACTIVITY_PROCS); do
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY
    done
    wait_ready entry handoff-2 activity-1 activity-2 activity-3 || return 1
    submit || return 1
    local r p="${PID[handoff-1]}" tries lock t0 ttl waiting
    for r in $(seq 1 $SIGSTOP_ROUNDS); do
        wait_progress "$(awk -v r="$r" -v n="$SIGSTOP_ROUNDS" 'BEGIN { print 0.2 + 0.6 * (r - 1) / n }')"
        # stop it, look for a lock; none held: let it go on a moment and try again
        tries=0
        lock=""
        while [ -z "$lock" ] && [ "$tries" -lt 200 ]; do
            kill -STOP "$p"
            tries=$((tries + 1))
            lock=$(redis_locks | head -n 1)
            [ -n "$lock" ] || { kill -CONT "$p"; sleep 0.02; }
        done
        if [ -z "$lock" ]; then
            SC_FAILS+=("round $r: handoff-1 held no workflow lock in $tries tries")
            return 1
        fi
        t0=$(now_ms)
        printf '=== %s SIGSTOP (holding %s)\n' "$(date +%T.%3N)" "$lock" >>"$SC_LOGS/handoff-1.log"
        sleep "$SIGSTOP_S"
        ttl=$(redis-cli -u "$WEFT_REDIS_URL" pttl "$lock" 2>&1)
        waiting=$("$LOAD" queues 2>&1 | grep -o 'workflow_handoff=[0-9]*')
        kill -CONT "$p"
        printf '=== %s SIGCONT after %s ms\n' "$(date +%T.%3N)" "$(( $(now_ms) - t0 ))" \
            >>"$SC_LOGS/handoff-1.log"
        note "round $r: SIGSTOP of the active handoff-1 for $(( $(now_ms) - t0 )) ms, holding ${lock##*:} (found in $tries tries); at SIGCONT the lock's PTTL was $ttl, $waiting"
        # PTTL -2: the key is gone, the lease ran out under the stopped holder as intended
        [ "$ttl" = -2 ] || note "round $r: the lock was not expired at SIGCONT (PTTL $ttl): someone took it again"
    done
    drain
    local expired
    expired=$(grep -c 'lease expired before release' "$SC_LOGS/handoff-1.log")
    note "handoff-1 logged $expired releases of an expired lock"
    alive "$p" || SC_FAILS+=("handoff-1 did not survive SIGSTOP/SIGCONT")
    alive "${PID[handoff-2]:-}" || SC_FAILS+=("the standby handoff-2 is not running")
}

# The refusing policy on `default`: at most REFUSE_MAX_LENGTH ready messages, publishes
# beyond refused (basic.nack). Cleared on every exit too (cleanup).
REFUSE_SET=0
refuse_set() {
    rmqctl set_policy --apply-to queues "$REFUSE_POLICY" '^default$' \
        "{\"max-length\": $REFUSE_MAX_LENGTH, \"overflow\": \"reject-publish\"}" >/dev/null \
        || { SC_FAILS+=("rabbitmqctl set_policy $REFUSE_POLICY failed"); return 1; }
    REFUSE_SET=1
}
refuse_clear() {
    [ "$REFUSE_SET" = 1 ] || return 0
    rmqctl clear_policy "$REFUSE_POLICY" >/dev/null && REFUSE_SET=0
}
# the policy that `default` has now ("" when none)
default_policy() {
    rmqctl list_queues -q --no-table-headers name policy 2>/dev/null \
        | awk '$1 == "default" { print $2 }'
}

# 10. dispatches refused by the broker: a max-length + overflow reject-publish policy on
# `default`, held REFUSE_S s while the load is being submitted, then cleared. Every dispatch
# to a full `default` is refused (the entry's, the handoff's, a retry's due redelivery out of
# a delay queue is dropped by the broker): nothing may be lost for good, nothing created
# twice (half the entry messages name their workflow by message_id alone), and what was
# dropped must come back through redelivery or the sweeper.
REFUSE_ROUNDS=$([ "$SOAK" = 1 ] && echo 5 || echo 1)
sc_refused_dispatch() {
    start_consumers || return 1
    # submitted over the whole window, so that the entry meets the refusals too
    submit_bg --rate 30
    local r t0 policy before after
    for r in $(seq 1 $REFUSE_ROUNDS); do
        sleep 2
        before=$(terminal_count)
        refuse_set || return 1
        t0=$(now_ms)
        policy=$(default_policy)
        [ "$policy" = "$REFUSE_POLICY" ] \
            || { SC_FAILS+=("round $r: \`default\` has policy '$policy', not $REFUSE_POLICY"); return 1; }
        # held REFUSE_S from the set, the check above included
        while (( $(now_ms) - t0 < REFUSE_S * 1000 )); do sleep 0.1; done
        after=$(terminal_count)
        refuse_clear || { SC_FAILS+=("rabbitmqctl could not clear $REFUSE_POLICY"); return 1; }
        policy=$(default_policy)
        [ -z "$policy" ] || { SC_FAILS+=("round $r: \`default\` kept policy '$policy'"); return 1; }
        note "round $r: \`default\` refused publishes beyond $REFUSE_MAX_LENGTH ready for $(( $(now_ms) - t0 )) ms: $before workflows terminal when set, $after when cleared"
    done
    reap "$DRIVER"
    [ "$REAP_RC" = 0 ] || { SC_FAILS+=("the driver failed (status $REAP_RC)"); return 1; }
    drain
    # the fault must have happened: a window in which the broker refused nothing tested nothing
    local refused
    refused=$(cat "$SC_LOGS"/*.log | grep -c 'refused a message')
    note "$refused log lines of a publish the broker refused"
    [ "$refused" -gt 0 ] || SC_FAILS+=("the broker refused no publish: the policy did not bite")
}

# 12. attempts longer than the broker's consumer_timeout (lowered to 2 s, checked twice a
# second): the workers acknowledge their message once an attempt has run --ack-after 1 s and
# the lease guards it from then on; one worker is killed -9 mid-run, so some attempts are
# lost after their early ack and only their expired lease can tell. Every attempt that
# failed must be a planned failure or one of the killed worker's.
CT_CHANGED=0
consumer_timeout_set() {
    rmqctl eval 'application:set_env(rabbit, consumer_timeout, 2000).' >/dev/null \
        && rmqctl eval 'application:set_env(rabbit, channel_tick_interval, 500).' >/dev/null \
        || { SC_FAILS+=("rabbitmqctl could not lower consumer_timeout"); return 1; }
    CT_CHANGED=1
}
# RabbitMQ 3.10's defaults; unsetting the tick instead would break new channels
consumer_timeout_restore() {
    [ "$CT_CHANGED" = 1 ] || return 0
    rmqctl eval 'application:set_env(rabbit, consumer_timeout, 1800000).' >/dev/null \
        && rmqctl eval 'application:set_env(rabbit, channel_tick_interval, 60000).' >/dev/null \
        && CT_CHANGED=0
}
sc_consumer_timeout() {
    consumer_timeout_set || return 1
    # a channel reads consumer_timeout when it opens: the consumers start after the change
    start_consumers --ack-after 1 --lease 4 || return 1
    LOAD_N=$((30 * SCALE)) LOAD_MS=2500:4000 submit --shapes chain --chain-len 2 \
        --transient-max 1 || return 1
    sleep 6
    kill9 activity-1
    note "kill -9 of activity-1 6 s in, restarted 1 s later"
    sleep 1
    start activity-1 "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY --ack-after 1 --lease 4
    drain
    consumer_timeout_restore
    local early timedout
    early=$(cat "$SC_LOGS"/activity-*.log | grep -c 'its message is acknowledged')
    # RabbitMQ's reason when it closes a channel for a delivery held too long
    timedout=$(cat "$SC_LOGS"/*.log | grep -c 'delivery acknowledgement')
    note "$early attempts acknowledged early; $timedout channels closed by consumer_timeout"
    [ "$early" -gt 0 ] || SC_FAILS+=("no attempt ran past --ack-after: the scenario tested nothing")
    [ "$timedout" = 0 ] || SC_FAILS+=("consumer_timeout closed $timedout channels")
}

# 13. Four handoff shards (WEFT_HANDOFF_SHARDS=4): handoff-a serves shards 0 and 1, handoff-b
# shards 2 and 3, handoff-s all four as their hot standby (subscribed last, so idle). Each
# round kill -9's the active consumer of shards 0 and 1 and starts it again, a standby now:
# odd rounds handoff-a (handoff-s takes over), even rounds handoff-s (handoff-a takes back).
# The trace of fault-weft-handoff (WEFT_FAULTS_HANDOFF_TRACE) shows when each handoff ran.
HANDOFF_SHARDS=4
sc_handoff_shard_kill() {
    local trace="$SC_DATA/handoffs.trace"
    CONSUMER_ENV+=("WEFT_HANDOFF_SHARDS=$HANDOFF_SHARDS" "WEFT_FAULTS_HANDOFF_TRACE=$trace")
    local -A args=([handoff-a]="--shard 0,1" [handoff-b]="--shard 2,3" [handoff-s]="--shards all")
    READY_LINES=([handoff-a]=2 [handoff-b]=2 [handoff-s]=$HANDOFF_SHARDS)
    start entry "$BIN_ENTRY"
    local role i
    for role in handoff-a handoff-b handoff-s; do
        # shellcheck disable=SC2086 # the flags of the role, split on purpose
        start "$role" "$BIN_HANDOFF" "${SWEEP[@]}" ${args[$role]}
        wait_ready "$role" || return 1
    done
    for i in $(seq 1 $ACTIVITY_PROCS); do
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY
    done
    wait_ready entry activity-1 activity-2 activity-3 || return 1
    SHARD_STANDBY_PID=${PID[handoff-s]}
    submit || return 1
    local r victim
    for r in $(seq 1 $ROUNDS); do
        wait_round "$r"
        victim=$([ $((r % 2)) = 1 ] && echo handoff-a || echo handoff-s)
        kill9 "$victim"
        note "round $r: kill -9 of $victim, the active consumer of shards 0 and 1 ($(wc -l <"$trace") handoffs done)"
        # shellcheck disable=SC2086
        start "$victim" "$BIN_HANDOFF" "${SWEEP[@]}" ${args[$victim]}
        wait_ready "$victim" || return 1
    done
    drain
    READY_LINES=()
}

# The trace: no two handoffs of one workflow overlapped, the load spread over the shards, and
# the first standby ran handoffs once it took over.
check_handoff_shard_kill() {
    local out rc=0 overlaps used standby
    out=$(WEFT_HANDOFF_SHARDS=$HANDOFF_SHARDS "$LOAD" handoff-trace --trace "$SC_DATA/handoffs.trace" 2>&1) || rc=$?
    overlaps=$(awk '$1 == "handoffs" { print $8 }' <<<"$out")
    used=$(awk '$1 == "handoffs" { print $6 }' <<<"$out")
    standby=$(awk -v p="${SHARD_STANDBY_PID:-none}" '$1 == "pid" && $2 == p { print $3 }' <<<"$out")
    printf '%s:   %s\n' "$SC" "$(awk '$1 == "handoffs"' <<<"$out"); per shard: $(awk '$1 == "shard" { printf "%s%s=%s", n++ ? " " : "", $2, $3 }' <<<"$out"); the first standby ran ${standby:-0}"
    [ -n "$overlaps" ] || { SC_FAILS+=("cannot read the handoff trace: $out"); return; }
    [ "$rc" = 0 ] && [ "$overlaps" = 0 ] || SC_FAILS+=("$overlaps handoffs overlapped another of their workflow: $(grep '^first overlap' <<<"$out")")
    [ "$used" -ge 2 ] || SC_FAILS+=("the handoffs used $used shard(s) of $HANDOFF_SHARDS")
    [ "${standby:-0}" -gt 0 ] || SC_FAILS+=("the standby never took over")
}
# 13. a RabbitMQ cluster of three nodes (deploy/cluster.sh) and weft's queues as quorum
# queues: every consumer lists the three nodes, each starting from another one; at 20 % of
# the load node 1 — where the queues were declared, so the leader of each — is killed -9 and
# stays down. Its consumers reconnect to the other nodes, each queue elects a new leader
# from its replicas, and nothing is lost. The load's planned TRANSIENT failures wait in the
# quorum delay queues; malformed messages published after the kill must rest in weft.dead
# with their reason.
cluster() { env "${CLUSTER_ENV[@]}" "$CLUSTER" "$@" 8>&-; }
cluster_down() {
    [ "$CLUSTER_UP" = 1 ] || return 0
    cluster stop >>"$WEFT_STATE_DIR/cluster.log" 2>&1
    CLUSTER_UP=0
}
# node_urls K: the nodes' URLs, from node K on
node_urls() {
    local all n i out=()
    all="$(cluster env | sed -n 's/^export WEFT_AMQP_URL=//p')"
    IFS=, read -r -a n <<<"$all"
    for i in 0 1 2; do out+=("${n[($1 - 1 + i) % 3]}"); done
    (IFS=,; echo "${out[*]}")
}
CLUSTER_HOSTILE=30
sc_rabbitmq_cluster() {
    local t0 i
    t0=$(now_ms)
    CLUSTER_UP=1
    { cluster wipe && cluster start; } >>"$SC_LOGS/cluster.log" 2>&1 \
        || { SC_FAILS+=("deploy/cluster.sh start failed (see $SC_LOGS/cluster.log)"); return 1; }
    note "the cluster of 3 started in $(( $(now_ms) - t0 )) ms"
    # the driver, the probes and diagnose reach the cluster from node 1 on, like the consumers
    export WEFT_QUEUE_TYPE=quorum WEFT_AMQP_URL
    WEFT_AMQP_URL="$(node_urls 1)"
    CONSUMER_ENV+=(WEFT_QUEUE_TYPE=quorum)
    # entry and handoff from node 1 (entry first: its declarations put every leader there)
    CONSUMER_ENV+=(WEFT_AMQP_URL="$(node_urls 1)")
    start entry "$BIN_ENTRY"
    wait_ready entry || return 1
    start handoff "$BIN_HANDOFF" "${SWEEP[@]}"
    local roles=(handoff)
    for i in $(seq 1 $ACTIVITY_PROCS); do
        CONSUMER_ENV+=(WEFT_AMQP_URL="$(node_urls "$i")")
        start "activity-$i" "$BIN_ACTIVITY" --concurrency $ACTIVITY_CONCURRENCY
        roles+=("activity-$i")
    done
    wait_ready "${roles[@]}" || return 1
    local types
    types=$(cluster rabbitmqctl 2 -q list_queues name type --no-table-headers 2>/dev/null \
        | awk '$2 != "quorum" { n++ } END { print n + 0 }')
    [ "$types" = 0 ] || SC_FAILS+=("$types of the cluster's queues are not quorum queues")
    submit || return 1
    wait_progress 0.2
    t0=$(now_ms)
    cluster kill-node 1 >>"$SC_LOGS/cluster.log" 2>&1 \
        || { SC_FAILS+=("could not kill node 1"); return 1; }
    note "node 1 killed -9 at $(terminal_count) of $LOAD_N workflows terminal; it stays down"
    local out sent check rc=0
    out=$("$LOAD" hostile --count "$CLUSTER_HOSTILE" \
        --kinds "not JSON,invalid UTF-8,wrong shape,unknown uid" 2>>"$SC_LOGS/driver.log") \
        || { SC_FAILS+=("the hostile messages could not be published on the 2 nodes left"); return 1; }
    read -r _ sent _ _ <<<"$out"
    drain
    note "drained $(( ($(now_ms) - t0) / 1000 )) s after the kill"
    check=$("$LOAD" dead-check --expect "$sent" --timeout 30 2>>"$SC_LOGS/driver.log") || rc=$?
    note "malformed: $sent published after the kill; weft.dead: $check"
    [ "$rc" = 0 ] || SC_FAILS+=("weft.dead: expected $sent messages with x-weft-reason, got: $check")
    local moved
    moved=$(cat "$SC_LOGS"/*.log | grep -c 'broker: connected to node')
    note "$moved reconnects went to another node than the one first tried"
    [ "$moved" -gt 0 ] || SC_FAILS+=("no consumer reconnected to another node: node 1's loss tested nothing")
}
after_rabbitmq_cluster() { cluster_down; }

# ------------------------------------------------------------------- main ---

# The whole run is one function, parsed before it starts: editing this file during a run
# cannot change what the run does.
main() {
    T0=$(now_ms)
    mkdir -p "$WEFT_STATE_DIR"
    exec 8>>"$WEFT_STATE_DIR/.suite.lock"
    if ! flock -n 8; then
        say "another run.sh uses $WEFT_STATE_DIR: waiting for it (up to 15 min)"
        flock -w 900 8 || { say "gave up waiting; or give this run its own WEFT_FAULTS_STATE_DIR and ports"; exit 1; }
    fi
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    say "services: state $WEFT_STATE_DIR, amqp $WEFT_AMQP_PORT, postgres $WEFT_PG_PORT, redis $WEFT_REDIS_PORT"
    if ! "$SERVICES" start 8>&- >"$WEFT_STATE_DIR/services.log" 2>&1; then
        cat "$WEFT_STATE_DIR/services.log" >&2
        say "could not start the services"
        exit 1
    fi
    eval "$("$SERVICES" env)"
    export WEFT_AMQP_URL WEFT_DATABASE_URL WEFT_REDIS_URL
    local single_amqp_url="$WEFT_AMQP_URL"

    # a snapshot of the binaries: every scenario runs the same ones, even when the build is
    # relinked meanwhile. The consumers are the suite's builds of them (fault_hooks.c).
    local bin="$WEFT_STATE_DIR/bin" b
    rm -rf "$bin"
    mkdir -p "$bin"
    for b in "$BUILD/tests/faults/fault-weft-entry" "$BUILD/tests/faults/fault-weft-activity" \
        "$BUILD/tests/faults/fault-weft-handoff" "${WEFT_FAULTS_LOAD:-$BUILD/tests/faults/fault_load}"; do
        [ -x "$b" ] || { say "missing binary $b (is tests/faults in the meson build?)"; exit 1; }
        cp "$b" "$bin/" || exit 1
    done
    BIN_ENTRY="$bin/fault-weft-entry"
    BIN_ACTIVITY="$bin/fault-weft-activity"
    BIN_HANDOFF="$bin/fault-weft-handoff"
    LOAD="$bin/$(basename "${WEFT_FAULTS_LOAD:-fault_load}")"

    rm -rf "$WEFT_STATE_DIR/logs" "$WEFT_STATE_DIR/data"
    say "scale $SCALE: $LOAD_N workflows per scenario, drain timeout $DRAIN_S s; logs in $WEFT_STATE_DIR/logs"

    FAILED=()
    SEED=1
    for SC in "${SELECTED[@]}"; do
        SC_LOGS="$WEFT_STATE_DIR/logs/$SC"
        SC_DATA="$WEFT_STATE_DIR/data/$SC"
        SC_UIDS="$SC_DATA/uids"
        SC_SEED=$SEED
        SEED=$((SEED + 1))
        SC_T0=$(now_ms)
        SC_DEADLINE=$((SECONDS + DRAIN_S))
        SC_FAILS=()
        NOTES=()
        CONSUMER_ENV=(WEFT_DATA_DIR="$SC_DATA")
        # the suite's single node, unless a scenario says otherwise for itself
        WEFT_AMQP_URL="$single_amqp_url"
        unset WEFT_QUEUE_TYPE
        mkdir -p "$SC_LOGS" "$SC_DATA"
        : >"$SC_UIDS"
        say "== $SC"
        "sc_$SC" || SC_FAILS+=("the scenario did not run to its end (see above)")
        # every consumer the scenario did not kill on purpose must have survived it
        for role in $(printf '%s\n' "${!PID[@]}" | sort); do
            if ! alive "${PID[$role]}"; then
                reap "${PID[$role]}"
                SC_FAILS+=("$role died (exit status $REAP_RC)")
                unset "PID[$role]"
            fi
        done
        # the figures before the consumers stop: a `running` row past its lease is stuck only
        # while its worker could still renew it
        SC_FIGURES=$(figures)
        stop_all
        report || SC_FAILS+=("no figures")
        declare -F "check_$SC" >/dev/null && "check_$SC"
        if [ -s "$SC_DATA/reasons.txt" ]; then sed "s/^/$SC:   /" "$SC_DATA/reasons.txt"; fi
        if [ ${#SC_FAILS[@]} -gt 0 ]; then
            printf '%s: FAILED: %s\n' "$SC" "$(IFS=';'; echo "${SC_FAILS[*]}")"
            diagnose
            FAILED+=("$SC")
        else
            printf '%s: ok\n' "$SC"
        fi
        declare -F "after_$SC" >/dev/null && "after_$SC"
    done

    total=$(( ($(now_ms) - T0) / 1000 ))
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "faults: ${#FAILED[@]} of ${#SELECTED[@]} scenarios failed (${FAILED[*]}) in ${total} s"
        exit 1
    fi
    echo "faults: all ${#SELECTED[@]} scenarios passed in ${total} s"
}

main; exit
