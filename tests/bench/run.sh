#!/usr/bin/env bash
# tests/bench/run.sh [--smoke | --long] - weft's benchmark, one command: build, start its own
# RabbitMQ, Redis and Postgres, start weft's three consumers and a Celery worker on the same
# broker, run every workload on both, print a markdown table (also written to
# tests/bench/results.md, results-long.md with --long), stop everything.
#
#   (none)   the full run: chains 250 x 4, fan-in 500, latency 50, scale 100/1,000/10,000,
#            and chains 250 x 4 and latency 50 of a Python handler (py_tasks.py, py_handler.py)
#   --smoke  the same scaled down (about 20 s in all), for `meson test --suite bench`
#   --long   weft only: RSS before and after two runs of a 100,000-activity workflow
#
# Exits non-zero when a workload did not complete or a process died, never on the figures.
#
# The services run on their own ports and state folder, so they never meet the services
# of `deploy/test.sh` or of another engineer. Override with WEFT_BENCH_STATE_DIR,
# WEFT_BENCH_AMQP_PORT (5692), WEFT_BENCH_RABBIT_DIST_PORT (25692), WEFT_BENCH_EPMD_PORT
# (4389), WEFT_BENCH_REDIS_PORT (6399), WEFT_BENCH_PG_PORT (5452); the plain WEFT_* names
# are not read because `eval "$(deploy/services.sh env)"` exports WEFT_STATE_DIR for the
# default services. Also: WEFT_BENCH_BUILD_DIR (binaries already built there; meson test
# sets it), WEFT_BENCH_ACTIVITY_CONCURRENCY (2), WEFT_BENCH_CELERY_CONCURRENCY (2),
# WEFT_BENCH_REPEAT (runs of chains and fan-in, median reported: 3, 1 with --smoke),
# WEFT_BENCH_LOCK_WAIT (seconds to wait for another run of this checkout: 600, 60 with
# --smoke, which then reports itself skipped), WEFT_BENCH_HANDOFF_SHARDS (or
# WEFT_HANDOFF_SHARDS: the handoff shards of every weft process, 1; the one weft-handoff
# serves them all, README: Sharded handoff).
#
# After the main run, the no-op chains again on other topologies, weft's three consumers
# restarted for each, interleaved with Celery's (which stays on the single node): the handoff
# sharded over 2 and over 4 queues, then (full run) both sides with 8 worker slots
# (weft-activity --concurrency 8, Celery -c 8: slots=8), then a RabbitMQ cluster of three nodes with
# quorum queues (deploy/cluster.sh; ports WEFT_BENCH_CLUSTER_AMQP_PORT 5750-5752,
# WEFT_BENCH_CLUSTER_DIST_PORT 25750-25752, WEFT_BENCH_CLUSTER_EPMD_PORT 4459).
# WEFT_BENCH_TOPOLOGIES overrides the list ("shards=2 shards=4 slots=8 cluster"; "" for none; the
# smoke's is "shards=2").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

mode=full
case "${1:-}" in
    "") ;;
    --smoke) mode=smoke ;;
    --long) mode=long ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

export WEFT_STATE_DIR=${WEFT_BENCH_STATE_DIR:-$here/.state}
export WEFT_AMQP_PORT=${WEFT_BENCH_AMQP_PORT:-5692}
export WEFT_RABBIT_DIST_PORT=${WEFT_BENCH_RABBIT_DIST_PORT:-25692}
export WEFT_EPMD_PORT=${WEFT_BENCH_EPMD_PORT:-4389}
export WEFT_REDIS_PORT=${WEFT_BENCH_REDIS_PORT:-6399}
export WEFT_PG_PORT=${WEFT_BENCH_PG_PORT:-5452}
activity_concurrency=${WEFT_BENCH_ACTIVITY_CONCURRENCY:-2}
# the same number of handoff shards in every weft process, the driver's ready check included
export WEFT_HANDOFF_SHARDS=${WEFT_BENCH_HANDOFF_SHARDS:-${WEFT_HANDOFF_SHARDS:-1}}
celery_concurrency=${WEFT_BENCH_CELERY_CONCURRENCY:-2}
# 10,000 activities (100,000 with --long) are over the default limits of 10,000 activities
# and 1 MiB per message; the consumers and the driver read the same variables.
export WEFT_MAX_MESSAGE_BYTES=${WEFT_BENCH_MAX_MESSAGE_BYTES:-16777216}
export WEFT_MAX_ACTIVITIES=${WEFT_BENCH_MAX_ACTIVITIES:-200000}
python=/usr/bin/python3 # Debian's, which has python3-celery; another may come first on PATH
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the source tree

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: ERROR: %s\n' "$*" >&2; exit 1; }

case "$(realpath -m "$WEFT_STATE_DIR")" in
    "$(realpath -m "$repo/deploy/.state")") die "WEFT_BENCH_STATE_DIR must not be deploy/.state" ;;
esac
for p in "$WEFT_AMQP_PORT" "$WEFT_REDIS_PORT" "$WEFT_PG_PORT"; do
    case "$p" in 5682|6389|5442) die "port $p belongs to the default services; use another" ;; esac
done

# One run at a time per checkout: a second one would wipe the first one's services, and
# two benchmarks on one machine distort each other's figures anyway. Every child gets fd 8
# closed, or the daemons would hold the lock long after this script ended.
exec 8>"$here/.run.lock"
lock_wait=600
[ "$mode" != smoke ] || lock_wait=60
if ! flock -w "${WEFT_BENCH_LOCK_WAIT:-$lock_wait}" 8; then
    log "another benchmark run holds $here/.run.lock"
    # 77: meson's "skipped", for a test suite that happens to run beside a benchmark
    [ "$mode" = smoke ] && exit 77
    exit 1
fi

t_start=$(date +%s.%N)
services() { "$repo/deploy/services.sh" "$@" 8>&-; }

# ------------------------------------------------------------------ preparation ---

if [ -n "${WEFT_BENCH_BUILD_DIR:-}" ]; then
    build=$WEFT_BENCH_BUILD_DIR
else
    "$repo/deploy/setup.sh" build 8>&-
    build=$repo/build
fi
bench="$build/tests/bench/weft_bench"
for b in entry/weft-entry activity/weft-activity handoff/weft-handoff tests/bench/weft_bench; do
    [ -x "$build/$b" ] || die "$build/$b is missing: build first (deploy/setup.sh build)"
done

if [ "$mode" != long ] && ! "$python" -c 'import celery, redis' 2>/dev/null; then
    [ "$(id -u)" = 0 ] || die "python3-celery and python3-redis are missing and not root"
    log "installing python3-celery python3-redis"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3-celery python3-redis >&2
fi

declare -A pid_of # the processes this script started and has not reaped: stopped by pid only
failures=0
cleanup() {
    local p
    for p in "${pid_of[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pid_of[@]}"; do wait "$p" 2>/dev/null || true; done
    [ "$on_cluster" != 1 ] || cluster stop || true
    services stop || true
}
on_cluster=0 # set while the cluster of the topology runs is up
cluster() {
    env WEFT_CLUSTER_STATE_DIR="$WEFT_STATE_DIR/cluster" \
        WEFT_CLUSTER_AMQP_PORT="${WEFT_BENCH_CLUSTER_AMQP_PORT:-5750}" \
        WEFT_CLUSTER_DIST_PORT="${WEFT_BENCH_CLUSTER_DIST_PORT:-25750}" \
        WEFT_CLUSTER_EPMD_PORT="${WEFT_BENCH_CLUSTER_EPMD_PORT:-4459}" \
        "$repo/deploy/cluster.sh" "$@" 8>&-
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh state each run: no workflow, message or queue left by an earlier one. Without
# services.sh's marker the folder holds no services, only what this script wrote there.
if [ -e "$WEFT_STATE_DIR/.weft-state" ]; then
    [ ! -d "$WEFT_STATE_DIR/cluster" ] || cluster stop
    services wipe
else
    rm -rf "$WEFT_STATE_DIR/logs"
fi
services start
eval "$(services env)"
logs=$WEFT_STATE_DIR/logs
results=$WEFT_STATE_DIR/results.jsonl
mkdir -p "$logs"
: >"$results"
export BENCH_CELERY_BROKER="amqp://guest:guest@127.0.0.1:$WEFT_AMQP_PORT//"
export BENCH_CELERY_BACKEND="redis://127.0.0.1:$WEFT_REDIS_PORT/1"

# ------------------------------------------------------------------- processes ---

log_suffix="" # the topology runs' processes log to logs/NAME.TOPOLOGY.log
start() { # NAME COMMAND...: runs in the background, output to logs/NAME$log_suffix.log
    local name=$1
    shift
    "$@" >>"$logs/$name$log_suffix.log" 2>&1 8>&- &
    pid_of[$name]=$!
}

kib() { # PID FIELD: a /proc/PID/status figure in kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# record SYSTEM WORKLOAD key=json...: one line of results.jsonl from this script
record() {
    local line="{\"system\": \"$1\", \"workload\": \"$2\"" kv
    shift 2
    for kv in "$@"; do line+=", \"${kv%%=*}\": ${kv#*=}"; done
    printf '%s}\n' "$line" >>"$results"
}

record_rss() { # PHASE FIELD
    local p k
    for p in weft-entry weft-activity weft-handoff; do
        k=$(kib "${pid_of[$p]}" "$2")
        if [ -n "$k" ]; then
            record weft rss "process=\"$p\"" "phase=\"$1\"" "kib=$k"
        else
            record weft rss "process=\"$p\"" "phase=\"$1\"" "ok=false" \
                "error=\"$p is not running\""
            failures=$((failures + 1))
        fi
    done
}

# The processes whose CPU time each workload records (cpu.py): weft's, Celery's and the
# services', which both sides share. A service's pid file names its main process.
cpu_roots() {
    local p
    for p in weft-entry weft-activity weft-handoff celery; do
        printf '%s=%s\n' "$p" "${pid_of[$p]:-}"
    done
    printf 'rabbitmq=%s\n' "$(head -n1 "$WEFT_STATE_DIR/rabbitmq/rabbitmq.pid" 2>/dev/null)"
    if [ "$on_cluster" = 1 ]; then # the cluster's nodes add up under the same name
        for f in "$WEFT_STATE_DIR"/cluster/node*/rabbitmq.pid; do
            printf 'rabbitmq=%s\n' "$(head -n1 "$f" 2>/dev/null)"
        done
    fi
    printf 'postgres=%s\n' "$(head -n1 "$WEFT_STATE_DIR/postgres/data/postmaster.pid" 2>/dev/null)"
    printf 'redis=%s\n' "$(head -n1 "$WEFT_STATE_DIR/redis/redis.pid" 2>/dev/null)"
}
cpu() { "$python" "$here/cpu.py" "$1" ${2:+"$2"} $(cpu_roots) 8>&-; }

# step COMMAND...: one workload; its JSON line, with the CPU time each process used over
# it ("cpu_s"), goes to results.jsonl and to stderr
step() {
    local out rc=0 before with_cpu
    before=$(cpu snap) || before='{}'
    out=$("$@" 2>>"$logs/drivers.log" 8>&-) || rc=$?
    if [ -z "$out" ]; then
        out="{\"system\": \"?\", \"workload\": \"$*\", \"ok\": false, \"error\": \"exit status $rc, no result (see logs/drivers.log)\"}"
    elif with_cpu=$(cpu add "$before" <<<"$out" 2>>"$logs/drivers.log"); then
        out=$with_cpu
    fi
    [ -z "$topology" ] || out=$(tag_topology <<<"$out")
    printf '%s\n' "$out" >>"$results"
    printf 'run.sh: %s\n' "$out" >&2
    if [ "$rc" != 0 ]; then failures=$((failures + 1)); fi
}

topology="" # set during the topology runs: every result then carries it
tag_topology() { # a JSON line on stdin, with "topology": $topology added
    "$python" -c 'import json, sys
r = json.loads(sys.stdin.read())
r["topology"] = sys.argv[1]
print(json.dumps(r))' "$topology"
}
on_weft() { step "$bench" --timeout "$timeout" "$@"; }
on_celery() { step env -C "$here" "$python" celery_peer.py --timeout "$timeout" "$@"; }
# warm COMMAND...: a run that only starts what a long-running worker would have started
# already (weft's persistent Python processes, one per worker slot); not a figure
warm() {
    "$@" >>"$logs/drivers.log" 2>&1 8>&- || {
        log "warm-up failed: $* (see $logs/drivers.log)"
        failures=$((failures + 1))
    }
}

# The Python-task workloads' handler as a persistent exec task (DESIGN §9): weft-activity
# serves the task file; weft-entry reads its names only, so definitions may use them.
py_tasks=$here/py_tasks.json
start_weft() { # [SLOTS]: weft-activity's worker threads ($activity_concurrency)
    start weft-entry env WEFT_TASKS_FILE="$py_tasks" "$build/entry/weft-entry"
    start weft-activity "$build/activity/weft-activity" \
        --concurrency "${1:-$activity_concurrency}" --tasks "$py_tasks"
    start weft-handoff "$build/handoff/weft-handoff" --shards all
}
start_celery() { # [SLOTS]: prefork children ($celery_concurrency)
    # prefork as asked; gossip, mingle and heartbeats off: cluster chatter the bench
    # does not need, and which would only add noise to an idle worker
    start celery env -C "$here" "$python" -m celery -A celery_peer worker -P prefork \
        -c "${1:-$celery_concurrency}" -Q weft_bench.celery --without-gossip --without-mingle \
        --without-heartbeat -l WARNING
}
start_weft
[ "$mode" = long ] || start_celery

timeout=120
on_weft ready
[ "$mode" = long ] || on_celery ready
[ "$failures" = 0 ] || die "the consumers did not come up (see $logs)"
record host load "phase=\"start\"" "loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
record host handoff "shards=$WEFT_HANDOFF_SHARDS"
record host build "dir=\"$build\"" \
    "commit=\"$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)\""
sleep 1 # let start-up allocations settle before reading the idle RSS
record_rss idle VmRSS

# ------------------------------------------------------------------- workloads ---

case "$mode" in
    smoke) timeout=60 floor_ops=50 chains=25 fanin=50 runs=10 rounds=1 sizes="100 1000" repeat=1 ;;
    full) timeout=900 floor_ops=500 chains=250 fanin=500 runs=50 rounds=5 sizes="100 1000 10000" repeat=3 ;;
    long) timeout=3600 ;;
esac
repeat=${WEFT_BENCH_REPEAT:-${repeat:-1}}

if [ "$mode" = long ]; then
    on_weft scale wide 1000
    record_rss before VmRSS
    on_weft scale wide 100000
    record_rss after_1 VmRSS
    on_weft scale wide 100000
    record_rss after_2 VmRSS
else
    # the floor first, on idle services, as the reference the handoff is compared with
    on_weft floor "$floor_ops"
    # interleaved, so a burst of load from elsewhere hits both sides alike
    for _ in $(seq "$repeat"); do
        on_weft chains "$chains" 4
        on_celery chains "$chains" 4
    done
    for _ in $(seq "$repeat"); do
        on_weft fanin "$fanin"
        on_celery fanin "$fanin"
    done
    # the same shapes with a Python handler on both sides: weft's persistent exec task
    # through the SDK, Celery's task; the same concurrency (one Python process per weft
    # worker slot, one prefork child per Celery slot)
    warm "$bench" --timeout 60 chains $((4 * activity_concurrency)) 1 py_echo
    warm env -C "$here" "$python" celery_peer.py --timeout 60 chains \
        $((4 * celery_concurrency)) 1 py_echo
    for _ in $(seq "$repeat"); do
        on_weft chains "$chains" 4 py_echo
        on_celery chains "$chains" 4 py_echo
    done
    # latency: $runs runs per side and task, in $rounds rounds of runs in a row, interleaved
    # and pooled by report.py, so that a burst of load from elsewhere hits all four alike. A 4-step
    # chain takes milliseconds: one that hangs fails its run within a minute instead of
    # holding the whole benchmark for the workload timeout.
    workload_timeout=$timeout timeout=60
    for _ in $(seq "$rounds"); do
        for task in noop py_echo; do
            on_weft latency $((runs / rounds)) 4 "$task"
            on_celery latency $((runs / rounds)) 4 "$task"
        done
    done
    timeout=$workload_timeout
    for n in $sizes; do
        on_weft scale wide "$n"
        on_weft scale chain "$n"
    done
fi
record_rss peak VmHWM
record host load "phase=\"end\"" "loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""

# ----------------------------------------------------------------- stopping ---

# alive PID: running, not a zombie waiting to be reaped
alive() {
    local st
    read -r st 2>/dev/null <"/proc/$1/stat" || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

# stop NAME: SIGTERM, then up to 60 s for a clean exit (weft finishes in-flight work first);
# a non-zero exit status counts as a failure
stop() {
    local name=$1 pid=${pid_of[$1]} rc=0 system=weft
    [ "$name" != celery ] || system=celery
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "$name ignored SIGTERM for 60 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" || rc=$?
    unset "pid_of[$name]"
    if [ "$rc" != 0 ]; then
        record "$system" exit "process=\"$name\"" "ok=false" "error=\"$name exited with status $rc\""
        failures=$((failures + 1))
    fi
}

# Each consumer logs on SIGTERM "NAME: stopping; handled N messages, busy X ms (Y us per
# message)": the handoff's Y is compared with the floor; weft-activity logs one line per
# worker thread (and the handoff one per shard), summed here into one figure per message.
busy_stats() { # LOG NAME -> "messages busy_ms us_per_message", or nothing
    sed -nE "s/.* $2(-[0-9]+)?: stopping; handled ([0-9]+) messages, busy ([0-9.]+) ms .*/\\2 \\3/p" "$1" |
        awk '{ n += $1; ms += $2 } END { if (NR) printf "%d %.1f %.1f\n", n, ms, n ? ms * 1000 / n : 0 }'
}
# LOG -> "batches messages": how many of the handoff's messages went in batches, in how many
batch_stats() {
    sed -nE 's/.* handoff(-[0-9]+)?: stopping; .*; ([0-9]+) of them in ([0-9]+) batches.*/\2 \3/p' "$1" |
        awk '{ m += $1; b += $2 } END { printf "%d %d\n", b, m }'
}
stop_weft() { # stops weft's three consumers and records their busy time per message
    local p stats n busy per b m
    for p in weft-handoff weft-activity weft-entry; do stop "$p"; done
    read -r b m <<<"$(batch_stats "$logs/weft-handoff$log_suffix.log")"
    record weft handoff_batches "batches=${b:-0}" "batched=${m:-0}" \
        ${topology:+"topology=\"$topology\""}
    for p in handoff activity; do
        stats=$(busy_stats "$logs/weft-$p$log_suffix.log" "$p")
        if [ -n "$stats" ]; then
            read -r n busy per <<<"$stats"
            record weft "$p" "messages=$n" "busy_ms=$busy" "us_per_message=$per" \
                ${topology:+"topology=\"$topology\""}
        elif [ "$mode" != long ]; then
            record weft "$p" "ok=false" \
                "error=\"no '$p: stopping' line in logs/weft-$p$log_suffix.log\""
            failures=$((failures + 1))
        fi
    done
}
stop_weft

# ------------------------------------------------------------- topologies ---

case "$mode" in
    full) topologies=${WEFT_BENCH_TOPOLOGIES-shards=2 shards=4 slots=8 cluster} ;;
    smoke) topologies=${WEFT_BENCH_TOPOLOGIES-shards=2} ;;
    long) topologies="" ;;
esac
main_shards=$WEFT_HANDOFF_SHARDS main_url=$WEFT_AMQP_URL
for topo in $topologies; do
    slots=""
    case "$topo" in
        shards=[1-9]*) export WEFT_HANDOFF_SHARDS=${topo#shards=} ;;
        slots=[1-9]*) # both sides with more worker slots: Celery restarted too
            slots=${topo#slots=}
            stop celery
            start_celery "$slots"
            on_celery ready ;;
        cluster)
            on_cluster=1
            cluster start
            eval "$(cluster env)" # weft's URL is the cluster's nodes, its queues quorum queues
            log "weft on the cluster: $WEFT_AMQP_URL, WEFT_QUEUE_TYPE=$WEFT_QUEUE_TYPE" ;;
        *) die "WEFT_BENCH_TOPOLOGIES: '$topo' is not shards=N, slots=N or cluster" ;;
    esac
    log "topology $topo"
    log_suffix=".$topo" topology=$topo
    start_weft $slots
    up_failures=$failures
    on_weft ready
    if [ "$failures" = "$up_failures" ]; then
        for _ in $(seq "$repeat"); do
            on_weft chains "$chains" 4
            on_celery chains "$chains" 4
        done
    fi
    stop_weft
    log_suffix="" topology=""
    export WEFT_HANDOFF_SHARDS=$main_shards WEFT_AMQP_URL=$main_url
    if [ "$topo" = cluster ]; then
        unset WEFT_QUEUE_TYPE
        cluster stop
        on_cluster=0
    fi
    if [ -n "$slots" ]; then
        stop celery
        start_celery
        on_celery ready
    fi
done
if [ -n "${pid_of[celery]:-}" ]; then
    stop celery
fi

elapsed=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
# the full and long reports are kept beside this script; the smoke's is scratch
case "$mode" in
    full) out=$here/results.md ;;
    long) out=$here/results-long.md ;;
    smoke) out=$WEFT_STATE_DIR/results-smoke.md ;;
esac
"$python" "$here/report.py" "$results" "$mode" "$elapsed" "$activity_concurrency" \
    "$celery_concurrency" | tee "$out"
log "report in $out, logs in $logs"
if [ "$failures" != 0 ]; then
    log "$failures workload(s) or process(es) failed"
    exit 1
fi
