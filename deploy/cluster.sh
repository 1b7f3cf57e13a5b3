#!/usr/bin/env bash
# deploy/cluster.sh - a RabbitMQ cluster of three nodes on 127.0.0.1, for running weft
# with quorum queues (README "RabbitMQ cluster") and for the tests that lose a node.
#
# Usage: deploy/cluster.sh COMMAND [NODE]
#   start                 start the nodes (in parallel) and join them into one cluster
#   stop                  stop every node, then make sure nothing is left
#   status                each node's state and the cluster's members (exit 3 if one is down)
#   env                   print export lines: eval "$(deploy/cluster.sh env)"
#   stop-node N           stop node N gracefully (N: 1..WEFT_CLUSTER_NODES)
#   kill-node N           kill -9 node N (its Erlang VM and what it started)
#   start-node N          start node N again; it rejoins the cluster it was in
#   wipe                  stop, then delete the state folder
#   rabbitmqctl N ARGS... rabbitmqctl against node N
#
# Environment: WEFT_CLUSTER_STATE_DIR (<repo>/deploy/.state-cluster), WEFT_CLUSTER_NODES (3),
# WEFT_CLUSTER_AMQP_PORT (5770: node N listens on it + N - 1), WEFT_CLUSTER_DIST_PORT
# (25770, likewise), WEFT_CLUSTER_EPMD_PORT (4470, one epmd for all nodes),
# WEFT_AMQP_PASSWORD (guest's password, as services.sh). Node N is weftcN@localhost.
#
# `env` prints WEFT_AMQP_URL as the comma-separated list of every node's URL and
# WEFT_QUEUE_TYPE=quorum. Postgres and Redis are not started here: deploy/services.sh
# runs them. Progress goes to stderr.
set -euo pipefail

NODES="${WEFT_CLUSTER_NODES:-3}"
BASE_AMQP="${WEFT_CLUSTER_AMQP_PORT:-5770}"
BASE_DIST="${WEFT_CLUSTER_DIST_PORT:-25770}"
# services.sh reads these when it is sourced: node 1's ports, the cluster's epmd
export WEFT_AMQP_PORT="$BASE_AMQP" WEFT_RABBIT_DIST_PORT="$BASE_DIST"
export WEFT_EPMD_PORT="${WEFT_CLUSTER_EPMD_PORT:-4470}"
unset WEFT_TLS_DIR
# shellcheck source=deploy/services.sh
. "$(dirname "$0")/services.sh"

log()  { printf 'cluster.sh: %s\n' "$*" >&2; }
warn() { printf 'cluster.sh: WARNING: %s\n' "$*" >&2; }
die()  { printf 'cluster.sh: ERROR: %s\n' "$*" >&2; exit 1; }

[[ "$NODES" =~ ^[1-9]$ ]] || die "WEFT_CLUSTER_NODES='$NODES' is not 1..9"

CLUSTER_DIR="${WEFT_CLUSTER_STATE_DIR:-$REPO_DIR/deploy/.state-cluster}"
case "$CLUSTER_DIR" in /*) ;; *) CLUSTER_DIR="$PWD/$CLUSTER_DIR" ;; esac
CLUSTER_DIR="${CLUSTER_DIR%/}"
[ -n "$CLUSTER_DIR" ] || die "WEFT_CLUSTER_STATE_DIR must not be /"

node_name() { printf 'weftc%s@localhost' "$1"; }

# node N: points services.sh's RabbitMQ globals at node N, so that its rmq_* helpers act
# on that node
node() {
    local n="$1"
    [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= NODES )) || die "no node '$n' (1..$NODES)"
    RMQ_NODE="$(node_name "$n")"
    AMQP_PORT=$((BASE_AMQP + n - 1))
    RMQ_DIST_PORT=$((BASE_DIST + n - 1))
    RMQ_DIR="$CLUSTER_DIR/node$n"
    RMQ_PIDFILE="$RMQ_DIR/rabbitmq.pid"
    RMQ_LAUNCHER_PIDFILE="$RMQ_DIR/launcher.pid"
    RMQ_STARTUP_LOG="$RMQ_DIR/log/startup.log"
    RMQ_LOG="$RMQ_DIR/log/$RMQ_NODE.log"
}

# Every node needs the same Erlang cookie to talk to the others: one is made for the
# cluster and copied into each node's home before services.sh would make a node its own.
install_cookie() {
    local c="$CLUSTER_DIR/erlang.cookie"
    if [ ! -s "$c" ]; then
        (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$c")
    fi
    mkdir -p "$RMQ_DIR/home"
    chmod 0700 "$RMQ_DIR/home"
    if ! cmp -s "$c" "$RMQ_DIR/home/.erlang.cookie"; then
        rm -f "$RMQ_DIR/home/.erlang.cookie"
        cp "$c" "$RMQ_DIR/home/.erlang.cookie"
        chmod 0400 "$RMQ_DIR/home/.erlang.cookie"
    fi
}

# services.sh's node configuration, plus what a cluster needs: on a partition the minority
# side pauses rather than diverging (three nodes: a lost node never takes writes alone).
eval "services_$(declare -f rmq_prepare)"
rmq_prepare() {
    services_rmq_prepare
    cat >>"$RMQ_DIR/rabbitmq.conf" <<EOF
cluster_partition_handling = pause_minority
EOF
}

# start_node N: in the background of the caller (a subshell), so the nodes boot together
start_node() {
    node "$1"
    install_cookie
    rmq_start
}

members() { # N: the running nodes of the cluster as node N sees it, one a line
    node "$1"
    rmqctl_t 20 -q eval 'rabbit_nodes:all_running().' 2>/dev/null | tr -d "[]' \n" | tr ',' '\n'
}

# join N: node N (fresh) joins node 1's cluster: stop_app, reset, join_cluster, start_app
join() {
    local n="$1" first
    first="$(node_name 1)"
    if members "$n" | grep -qx "$first"; then return 0; fi
    node "$n"
    log "node $n: joining $first"
    local out="$RMQ_DIR/log/join.log"
    { rmqctl_t 60 -q stop_app \
        && rmqctl_t 60 -q reset \
        && rmqctl_t 60 -q join_cluster "$first" \
        && rmqctl_t 60 -q start_app; } >"$out" 2>&1 \
        || { show_log_tail "$out"; die "node $n could not join $first (log: $RMQ_LOG)"; }
}

cluster_start() {
    local t0 n pids=() rc=0
    t0="$(now_ms)"
    ensure_packages rabbitmq
    mkdir -p "$CLUSTER_DIR"
    exec 9>>"$CLUSTER_DIR/.lock"
    flock -w 300 9 || die "another cluster.sh holds $CLUSTER_DIR/.lock"
    find_rmq_bin
    ensure_epmd
    for n in $(seq 1 "$NODES"); do
        ( start_node "$n" ) 9>&- &
        pids+=($!)
    done
    for n in "${pids[@]}"; do wait "$n" || rc=1; done
    [ "$rc" = 0 ] || die "a node did not start (logs under $CLUSTER_DIR/node*/log)"
    for n in $(seq 2 "$NODES"); do join "$n"; done
    log "cluster of $NODES up after $(elapsed "$t0"): $(members 1 | tr '\n' ' ')"
}

cluster_stop() {
    local n
    [ -d "$CLUSTER_DIR" ] || { log "nothing to stop ($CLUSTER_DIR does not exist)"; return 0; }
    exec 9>>"$CLUSTER_DIR/.lock"
    flock -w 300 9 || die "another cluster.sh holds $CLUSTER_DIR/.lock"
    find_rmq_bin
    # the nodes stop together: a node that stops last waits for nobody
    for n in $(seq 1 "$NODES"); do ( node "$n"; rmq_stop ) 9>&- & done
    wait
    stop_epmd
}

cluster_status() {
    local n rc=0
    find_rmq_bin
    echo "state: $CLUSTER_DIR"
    for n in $(seq 1 "$NODES"); do
        node "$n"
        printf 'node %s: ' "$n"
        rmq_status | sed 's/^rabbitmq: //' || rc=3
    done
    for n in $(seq 1 "$NODES"); do
        node "$n"
        if rmq_up; then
            echo "running members: $(members "$n" | tr '\n' ' ')"
            break
        fi
    done
    return $rc
}

cluster_env() {
    local pw n urls=()
    pw="$(url_escape "${AMQP_PASSWORD:-guest}")"
    for n in $(seq 1 "$NODES"); do
        urls+=("amqp://guest:$pw@$LOOPBACK:$((BASE_AMQP + n - 1))")
    done
    printf 'export WEFT_AMQP_URL=%s\n' "$(IFS=,; echo "${urls[*]}")"
    printf 'export WEFT_QUEUE_TYPE=quorum\n'
}

kill_node() {
    node "$1"
    local beam; beam="$(rmq_beam_pid)"
    [ -n "$beam" ] || { log "node $1: not running"; return 0; }
    log "node $1: kill -9 (pid $beam)"
    kill -KILL "$beam" 2>/dev/null || true
    wait_pid_gone "$beam" 10 || die "node $1: pid $beam survived kill -9"
    kill_leftovers "node $1" "$RMQ_DIR"
    rm -f "$RMQ_PIDFILE" "$RMQ_LAUNCHER_PIDFILE"
}

main_cluster() {
    local cmd="${1:-}"
    [ $# -gt 0 ] && shift
    case "$cmd" in
        start) cluster_start ;;
        stop) cluster_stop ;;
        status) cluster_status ;;
        env) cluster_env ;;
        stop-node) find_rmq_bin; node "${1:-}"; rmq_stop ;;
        kill-node) kill_node "${1:-}" ;;
        start-node) find_rmq_bin; ensure_epmd; start_node "${1:-}" 9>&- ;;
        rabbitmqctl) find_rmq_bin; node "${1:-}"; shift; rmqctl "$@" ;;
        wipe)
            cluster_stop
            log "deleting $CLUSTER_DIR"
            rm -rf -- "$CLUSTER_DIR" ;;
        -h|--help|help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
        *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; return 2 ;;
    esac
}

main_cluster "$@"
