#!/usr/bin/env bash
# deploy/services.sh - run weft's backing services (RabbitMQ, Redis, PostgreSQL)
# from Debian's packages, on 127.0.0.1 only, with all data under a state folder
# and with ports / node names that do not collide with a system-wide install.
#
# Usage: deploy/services.sh COMMAND [SERVICE]
#   start                 start all three (a service already up is skipped)
#   stop                  stop all three gracefully, then make sure nothing is left
#   status [SERVICE]      show what runs (exit 0 if all shown are up, 3 if not)
#   restart SERVICE       stop-one + start-one
#   stop-one SERVICE      stop one service     (SERVICE: rabbitmq|redis|postgres)
#   start-one SERVICE     start one service
#   env                   print export lines:  eval "$(deploy/services.sh env)"
#   wipe                  stop, then delete the state folder
#   rabbitmqctl ARGS...   run rabbitmqctl against the weft node with the right env
#
# Environment: WEFT_STATE_DIR (default <repo>/deploy/.state), WEFT_AMQP_PORT
# (5682), WEFT_RABBIT_DIST_PORT (25682), WEFT_EPMD_PORT (4379), WEFT_REDIS_PORT
# (6389), WEFT_PG_PORT (5442), WEFT_RABBIT_NODE (weft@localhost).
# Optional, all unset by default:
#   WEFT_TLS_DIR          folder with ca.pem, server.pem, server.key: RabbitMQ gets a
#                         TLS listener on WEFT_AMQPS_PORT (WEFT_AMQP_PORT + 1), Postgres
#                         ssl=on and accepts role weft only over TLS; `env` then prints
#                         amqps:// and sslmode=verify-full URLs for host localhost
#   WEFT_AMQP_PASSWORD    password of RabbitMQ's guest (set when the node is created)
#   WEFT_PG_PASSWORD      password of role weft, checked (scram-sha-256) when set
#   WEFT_REDIS_PASSWORD   Redis requirepass
#
# Progress goes to stderr; only `env`, `status` and `rabbitmqctl` print to stdout.
set -euo pipefail
umask 022

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
DEFAULT_STATE_DIR="$REPO_DIR/deploy/.state"

AMQP_PORT="${WEFT_AMQP_PORT:-5682}"
RMQ_DIST_PORT="${WEFT_RABBIT_DIST_PORT:-25682}"
EPMD_PORT="${WEFT_EPMD_PORT:-4379}"
REDIS_PORT="${WEFT_REDIS_PORT:-6389}"
PG_PORT="${WEFT_PG_PORT:-5442}"
RMQ_NODE="${WEFT_RABBIT_NODE:-weft@localhost}"
LOOPBACK=127.0.0.1
TLS_DIR="${WEFT_TLS_DIR:-}"
AMQPS_PORT="${WEFT_AMQPS_PORT:-$((AMQP_PORT + 1))}"
AMQP_PASSWORD="${WEFT_AMQP_PASSWORD:-}"
PG_PASSWORD="${WEFT_PG_PASSWORD:-}"
REDIS_PASSWORD="${WEFT_REDIS_PASSWORD:-}"

RMQ_START_TIMEOUT=90
REDIS_START_TIMEOUT=30
PG_START_TIMEOUT=60

SERVICES=(rabbitmq redis postgres)

for _p in AMQP_PORT AMQPS_PORT RMQ_DIST_PORT EPMD_PORT REDIS_PORT PG_PORT; do
    if ! [[ "${!_p}" =~ ^[0-9]+$ ]] || (( ${!_p} < 1 || ${!_p} > 65535 )); then
        echo "services.sh: ERROR: $_p='${!_p}' is not a TCP port" >&2
        exit 2
    fi
done

# The passwords go into rabbitmq.conf, redis.conf and an SQL literal, never onto a command
# line (`ps` shows those); these characters would need quoting rules of their own there.
for _p in AMQP_PASSWORD PG_PASSWORD REDIS_PASSWORD; do
    case "${!_p}" in
        *[\"\'\\#[:space:][:cntrl:]]*)
            echo "services.sh: ERROR: WEFT_$_p must not hold quotes, backslashes, '#' or white space" >&2
            exit 2 ;;
    esac
done
if [ -n "$TLS_DIR" ]; then
    case "$TLS_DIR" in /*) ;; *) TLS_DIR="$PWD/$TLS_DIR" ;; esac
    for _f in ca.pem server.pem server.key; do
        if [ ! -r "$TLS_DIR/$_f" ]; then
            echo "services.sh: ERROR: WEFT_TLS_DIR: cannot read $TLS_DIR/$_f" >&2
            exit 2
        fi
    done
fi

# ---------------------------------------------------------------- helpers ---

log()  { printf 'services.sh: %s\n' "$*" >&2; }
warn() { printf 'services.sh: WARNING: %s\n' "$*" >&2; }
die()  { printf 'services.sh: ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
elapsed() { # START_MS -> "12.3s"
    local d=$(( $(now_ms) - $1 ))
    printf '%d.%01ds' $((d / 1000)) $(((d % 1000) / 100))
}

is_root() { [ "$(id -u)" = 0 ]; }

# tcp_open PORT: something accepts TCP connections on 127.0.0.1:PORT
tcp_open() {
    timeout 3 bash -c ": </dev/tcp/$LOOPBACK/$1" >/dev/null 2>&1
}

# pid_alive PID: the process exists and is not a zombie (an exited daemon can
# stay a zombie for a while when PID 1 is slow to reap it, and kill -0 would
# still succeed on it)
pid_alive() {
    local st
    [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/stat" ]; then
        read -r st <"/proc/$1/stat" 2>/dev/null || return 1
        st="${st##*) }"
        [ "${st%% *}" != Z ] || return 1
    fi
    return 0
}

read_pid() { # FILE -> pid (first line, digits only) or nothing
    local f="$1" p=""
    if [ -r "$f" ]; then read -r p <"$f" 2>/dev/null || true; fi
    [[ "$p" =~ ^[0-9]+$ ]] && printf '%s' "$p"
    return 0
}

show_log_tail() { # FILE [LINES]
    local f="$1" n="${2:-30}"
    if [ -s "$f" ]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
        tail -n "$n" "$f" >&2 || true
        printf -- '-----\n' >&2
    else
        printf -- '(log %s is empty or missing)\n' "$f" >&2
    fi
}

# Processes that belong to one service's state folder: their working
# directory or their command line is inside DIR, and their executable is one
# of the daemons we run (never a user's shell that happens to sit there).
procs_in() { # DIR
    local dir="$1" p pid comm cwd cmd
    for p in /proc/[0-9]*; do
        pid="${p#/proc/}"
        [ "$pid" = "$$" ] && continue
        [ "$pid" = "${BASHPID:-$$}" ] && continue
        read -r comm 2>/dev/null <"$p/comm" || continue
        case "$comm" in
            beam.smp|erl_child_setup|inet_gethost|erlexec|epmd|rabbitmq-server|\
            redis-server|postgres|postmaster) ;;
            *) continue ;;
        esac
        pid_alive "$pid" || continue
        cwd="$(readlink "$p/cwd" 2>/dev/null || true)"
        cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null || true)"
        if [ "$cwd" = "$dir" ] || [[ "$cwd" == "$dir"/* ]] || [[ "$cmd" == *"$dir"* ]]; then
            printf '%s\n' "$pid"
        fi
    done
}

# kill_leftovers NAME DIR: TERM, then KILL, whatever still runs from DIR
kill_leftovers() {
    local name="$1" dir="$2" pids
    pids="$(procs_in "$dir" | tr '\n' ' ')"
    [ -z "${pids// /}" ] && return 0
    warn "$name: leftover processes [$pids], sending TERM"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 50); do
        pids="$(procs_in "$dir" | tr '\n' ' ')"
        [ -z "${pids// /}" ] && return 0
        sleep 0.2
    done
    warn "$name: processes [$pids] ignore TERM, sending KILL"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
    pids="$(procs_in "$dir" | tr '\n' ' ')"
    [ -z "${pids// /}" ] || die "$name: could not kill processes [$pids]"
}

wait_pid_gone() { # PID SECONDS
    local pid="$1" deadline=$((SECONDS + $2))
    while pid_alive "$pid"; do
        (( SECONDS >= deadline )) && return 1
        sleep 0.2
    done
    return 0
}

# ------------------------------------------------------- packages & users ---

RMQ_LIBBIN=/usr/lib/rabbitmq/bin
PG_BIN=""

find_rmq_bin() {
    if [ ! -x "$RMQ_LIBBIN/rabbitmq-server" ] && command -v dpkg >/dev/null; then
        local f
        f="$(dpkg -L rabbitmq-server 2>/dev/null | grep -E '/bin/rabbitmq-server$' | head -n1 || true)"
        if [ -n "$f" ]; then RMQ_LIBBIN="$(dirname "$f")"; fi
    fi
}

find_pg_bin() {
    PG_BIN=""
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ]; then
        PG_BIN="$d"
    fi
}

pkg_missing() { # SERVICE -> prints the Debian package to install, if missing
    case "$1" in
        rabbitmq)
            find_rmq_bin
            if [ ! -x "$RMQ_LIBBIN/rabbitmq-server" ] || [ ! -x "$RMQ_LIBBIN/rabbitmqctl" ] \
                || ! command -v epmd >/dev/null; then
                echo rabbitmq-server
            fi ;;
        redis)
            command -v redis-server >/dev/null && command -v redis-cli >/dev/null || echo redis-server ;;
        postgres)
            find_pg_bin
            [ -n "$PG_BIN" ] || echo postgresql ;;
    esac
}

ensure_packages() { # SERVICE...
    local s p missing=()
    for s in "$@"; do
        p="$(pkg_missing "$s")"
        [ -n "$p" ] && missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root || die "packages missing (${missing[*]}) and not root: install them with apt-get"
    log "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || warn "apt-get update failed, trying the install anyway"
    # The packages' postinst scripts may try to start the system-wide
    # services and fail (no systemd, policy-rc.d); that does not matter here,
    # so only the presence of the binaries afterwards decides.
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
        || warn "apt-get install returned an error (often a service failing to start in postinst); checking the binaries"
    for s in "$@"; do
        p="$(pkg_missing "$s")"
        [ -z "$p" ] || die "$s: package $p is still not usable after apt-get install"
    done
}

ensure_pg_user() {
    id -u postgres >/dev/null 2>&1 && return 0
    is_root || die "user 'postgres' does not exist and not root"
    log "creating system user postgres"
    useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
        --shell /bin/bash postgres
}

# run a command as the postgres user (the server refuses to run as root)
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        (cd / && "$@" 9>&-)
    fi
}

# ------------------------------------------------------------ state folder ---

STATE_DIR=""

nearest_existing() { # PATH -> the path itself or its nearest existing ancestor
    local d="$1"
    while [ ! -e "$d" ] && [ "$d" != "/" ]; do d="$(dirname "$d")"; done
    printf '%s' "$d"
}

pg_can_traverse() { # DIR (may not exist yet)
    is_root || return 0
    id -u postgres >/dev/null 2>&1 || return 0
    runuser -u postgres -- test -x "$(nearest_existing "$1")" 2>/dev/null
}

resolve_state_dir() {
    local want="${WEFT_STATE_DIR:-$DEFAULT_STATE_DIR}"
    case "$want" in /*) ;; *) want="$PWD/$want" ;; esac
    want="${want%/}"
    [ -n "$want" ] || die "WEFT_STATE_DIR must not be /"
    if ! pg_can_traverse "$want"; then
        local fb
        fb="/tmp/weft-state-$(id -u)"
        log "state dir $want is not reachable by the postgres user (a parent lacks o+x); using $fb instead"
        want="$fb"
        if [ -e "$want" ] && [ "$(stat -c %u "$want")" != "$(id -u)" ]; then
            die "$want exists and is not owned by $(id -un)"
        fi
        pg_can_traverse "$want" || die "postgres user cannot reach $want either"
    fi
    STATE_DIR="$want"
    RMQ_DIR="$STATE_DIR/rabbitmq"
    REDIS_DIR="$STATE_DIR/redis"
    PG_DIR="$STATE_DIR/postgres"
    PG_DATA="$PG_DIR/data"
    PG_SOCK="$PG_DIR/run"
    # a unix socket path must fit in 107 bytes
    if (( ${#PG_SOCK} + 20 > 107 )); then
        PG_SOCK="/tmp/weft-pgsock-$(id -u)-$PG_PORT"
    fi
    RMQ_PIDFILE="$RMQ_DIR/rabbitmq.pid"
    RMQ_LAUNCHER_PIDFILE="$RMQ_DIR/launcher.pid"
    RMQ_STARTUP_LOG="$RMQ_DIR/log/startup.log"
    RMQ_LOG="$RMQ_DIR/log/$RMQ_NODE.log"
    REDIS_PIDFILE="$REDIS_DIR/redis.pid"
    REDIS_LOG="$REDIS_DIR/redis.log"
    PG_LOG="$PG_DIR/postgres.log"
}

prepare_state_dir() {
    mkdir -p "$STATE_DIR"
    chmod 0755 "$STATE_DIR" 2>/dev/null || true
    touch "$STATE_DIR/.weft-state"
    local gi="$REPO_DIR/deploy/.gitignore"
    if [ -d "$REPO_DIR/deploy" ] && [ ! -e "$gi" ]; then
        printf '.state/\n' >"$gi" 2>/dev/null || true
    fi
}

# url_escape TEXT [SAFE]: TEXT percent-encoded for a URL, the unreserved characters and
# those in SAFE kept
url_escape() {
    local s="$1" safe="${2:-}" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        if [[ "$c" == [A-Za-z0-9._~-] ]] || [[ -n "$safe" && "$safe" == *"$c"* ]]; then
            out+="$c"
        else
            out+="$(printf '%%%02X' "'$c")"
        fi
    done
    printf '%s' "$out"
}

env_lines() {
    local amqp_pw pg_pw redis_auth=""
    amqp_pw="$(url_escape "${AMQP_PASSWORD:-guest}")"
    pg_pw="$(url_escape "${PG_PASSWORD:-weft}")"
    [ -n "$REDIS_PASSWORD" ] && redis_auth=":$(url_escape "$REDIS_PASSWORD")@"
    if [ -n "$TLS_DIR" ]; then
        # host names, not 127.0.0.1: rabbitmq-c matches only the DNS names of a certificate
        printf 'export WEFT_AMQP_URL=amqps://guest:%s@localhost:%s\n' "$amqp_pw" "$AMQPS_PORT"
        printf 'export WEFT_AMQP_CACERT=%q\n' "$TLS_DIR/ca.pem"
        printf 'export WEFT_DATABASE_URL=%q\n' \
            "postgresql://weft:$pg_pw@localhost:$PG_PORT/weft?sslmode=verify-full&sslrootcert=$(url_escape "$TLS_DIR/ca.pem" /)"
    else
        printf 'export WEFT_AMQP_URL=amqp://guest:%s@%s:%s\n' "$amqp_pw" "$LOOPBACK" "$AMQP_PORT"
        printf 'export WEFT_DATABASE_URL=postgresql://weft:%s@%s:%s/weft\n' "$pg_pw" "$LOOPBACK" "$PG_PORT"
    fi
    printf 'export WEFT_REDIS_URL=%q\n' "redis://$redis_auth$LOOPBACK:$REDIS_PORT/0"
    printf 'export WEFT_STATE_DIR=%s\n' "$STATE_DIR"
}

write_env_file() {
    local mask=022
    [ -z "$AMQP_PASSWORD$PG_PASSWORD$REDIS_PASSWORD" ] || mask=077
    (umask "$mask"; env_lines >"$STATE_DIR/env.tmp") && mv -f "$STATE_DIR/env.tmp" "$STATE_DIR/env"
}

# ---------------------------------------------------------------- RabbitMQ ---

rmq_env() { # prints NAME=VALUE words for `env`
    printf '%s\n' \
        "HOME=$RMQ_DIR/home" \
        "LC_ALL=C.UTF-8" \
        "LANG=C.UTF-8" \
        "ERL_EPMD_PORT=$EPMD_PORT" \
        "ERL_EPMD_ADDRESS=$LOOPBACK" \
        "RABBITMQ_NODENAME=$RMQ_NODE" \
        "RABBITMQ_NODE_IP_ADDRESS=$LOOPBACK" \
        "RABBITMQ_NODE_PORT=$AMQP_PORT" \
        "RABBITMQ_DIST_PORT=$RMQ_DIST_PORT" \
        "RABBITMQ_CTL_DIST_PORT_MIN=$((RMQ_DIST_PORT + 10000))" \
        "RABBITMQ_CTL_DIST_PORT_MAX=$((RMQ_DIST_PORT + 10010))" \
        "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia" \
        "RABBITMQ_LOG_BASE=$RMQ_DIR/log" \
        "RABBITMQ_PID_FILE=$RMQ_PIDFILE" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins" \
        "RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config" \
        "RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}" \
        "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

rmq_run() { # CMD ARGS... with the node's environment
    local -a e
    mapfile -t e < <(rmq_env)
    env -u RABBITMQ_ENABLED_PLUGINS -u RABBITMQ_USE_LONGNAME "${e[@]}" "$@"
}

rmqctl() { rmq_run "$RMQ_LIBBIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

rmqctl_t() { # SECONDS ARGS...: rabbitmqctl under a hard time limit
    local t="$1"; shift
    rmq_run timeout "$t" "$RMQ_LIBBIN/rabbitmqctl" -n "$RMQ_NODE" "$@" 9>&-
}

rmq_prepare() {
    mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    chmod 0700 "$RMQ_DIR/home"
    local cookie="$RMQ_DIR/home/.erlang.cookie"
    if [ ! -s "$cookie" ]; then
        # od reads exactly 16 bytes: no `tr </dev/urandom | head`, whose
        # SIGPIPE would abort the script under `set -o pipefail`
        (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$cookie")
    fi
    chmod 0400 "$cookie"
    printf '[].\n' >"$RMQ_DIR/enabled_plugins"
    : >"$RMQ_DIR/rabbitmq-env.conf"   # keep /etc/rabbitmq/rabbitmq-env.conf out
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# generated by deploy/services.sh - rewritten on every start
listeners.tcp.default = $LOOPBACK:$AMQP_PORT
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = warning
EOF
    if [ -n "$TLS_DIR" ]; then
        cat >>"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.ssl.default = $LOOPBACK:$AMQPS_PORT
ssl_options.cacertfile = $TLS_DIR/ca.pem
ssl_options.certfile = $TLS_DIR/server.pem
ssl_options.keyfile = $TLS_DIR/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    fi
    if [ -n "$AMQP_PASSWORD" ]; then
        chmod 0600 "$RMQ_DIR/rabbitmq.conf"
        printf 'default_pass = %s\n' "$AMQP_PASSWORD" >>"$RMQ_DIR/rabbitmq.conf"
    fi
}

rmq_beam_pid() {
    local p
    p="$(read_pid "$RMQ_PIDFILE")"
    if pid_alive "$p"; then printf '%s' "$p"; fi
}

rmq_launcher_pid() {
    local p
    p="$(read_pid "$RMQ_LAUNCHER_PIDFILE")"
    if pid_alive "$p"; then printf '%s' "$p"; fi
}

rmq_running() { # some process of our node is alive
    [ -n "$(rmq_beam_pid)" ] || [ -n "$(rmq_launcher_pid)" ] \
        || [ -n "$(procs_in "$RMQ_DIR" | head -n1)" ]
}

rmq_up() {
    [ -n "$(rmq_beam_pid)" ] && tcp_open "$AMQP_PORT" && { [ -z "$TLS_DIR" ] || tcp_open "$AMQPS_PORT"; }
}

ensure_epmd() {
    if tcp_open "$EPMD_PORT"; then return 0; fi
    log "rabbitmq: starting epmd on $LOOPBACK:$EPMD_PORT"
    (cd / && ERL_EPMD_ADDRESS="$LOOPBACK" epmd -port "$EPMD_PORT" -daemon 9>&-) \
        || die "could not start epmd on port $EPMD_PORT"
    for _ in $(seq 1 50); do tcp_open "$EPMD_PORT" && return 0; sleep 0.1; done
    die "epmd does not listen on port $EPMD_PORT"
}

stop_epmd() {
    tcp_open "$EPMD_PORT" || return 0
    local names
    names="$(epmd -port "$EPMD_PORT" -names 2>/dev/null | grep -c '^name ' || true)"
    if [ "${names:-0}" != 0 ]; then
        log "epmd on port $EPMD_PORT still has registered nodes; leaving it running"
        return 0
    fi
    epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
}

rmq_fail() {
    printf 'services.sh: ERROR: rabbitmq did not come up: %s\n' "$*" >&2
    show_log_tail "$RMQ_STARTUP_LOG"
    show_log_tail "$RMQ_LOG"
    exit 1
}

rmq_start() {
    local t0; t0="$(now_ms)"
    if rmq_up; then
        log "rabbitmq: already running (pid $(rmq_beam_pid), amqp $LOOPBACK:$AMQP_PORT)"
        return 0
    fi
    if [ -n "$(rmq_beam_pid)" ]; then
        log "rabbitmq: node process $(rmq_beam_pid) is alive but not ready yet; waiting for it"
    else
        kill_leftovers rabbitmq "$RMQ_DIR"   # e.g. after a kill -9 or a failed start
        ensure_packages rabbitmq
        local port
        for port in "$AMQP_PORT" "$RMQ_DIST_PORT" ${TLS_DIR:+"$AMQPS_PORT"}; do
            tcp_open "$port" && die "rabbitmq: port $LOOPBACK:$port is already in use by another process"
        done
        rmq_prepare
        ensure_epmd
        log "rabbitmq: starting node $RMQ_NODE on $LOOPBACK:$AMQP_PORT"
        rm -f "$RMQ_PIDFILE"
        local -a e
        mapfile -t e < <(rmq_env)
        (
            cd "$RMQ_DIR"
            exec nohup env -u RABBITMQ_ENABLED_PLUGINS -u RABBITMQ_USE_LONGNAME "${e[@]}" \
                "$RMQ_LIBBIN/rabbitmq-server" >"$RMQ_STARTUP_LOG" 2>&1 </dev/null 9>&-
        ) 9>&- &
        echo $! >"$RMQ_LAUNCHER_PIDFILE"
    fi
    local deadline=$((SECONDS + RMQ_START_TIMEOUT)) left
    while :; do
        if ! rmq_running; then
            rmq_fail "the server process exited"
        fi
        left=$((deadline - SECONDS))
        (( left <= 0 )) && rmq_fail "no answer within ${RMQ_START_TIMEOUT}s"
        if [ -n "$(rmq_beam_pid)" ] \
            && rmqctl_t $((left + 5)) -q await_startup --timeout "$left" >/dev/null 2>&1 \
            && rmq_up; then
            break
        fi
        sleep 1
    done
    log "rabbitmq: up after $(elapsed "$t0") (pid $(rmq_beam_pid))"
}

rmq_stop() {
    if ! rmq_running; then
        log "rabbitmq: not running"
    else
        local t0; t0="$(now_ms)"
        log "rabbitmq: stopping"
        local beam; beam="$(rmq_beam_pid)"
        if [ -n "$beam" ] && [ -x "$RMQ_LIBBIN/rabbitmqctl" ]; then
            # `stop PIDFILE` returns once the OS process is gone
            rmqctl_t 90 -q stop "$RMQ_PIDFILE" >/dev/null 2>&1 \
                || warn "rabbitmq: 'rabbitmqctl stop' failed"
        fi
        local l; l="$(rmq_launcher_pid)"
        [ -n "$l" ] && { wait_pid_gone "$l" 15 || kill -TERM "$l" 2>/dev/null || true; }
        kill_leftovers rabbitmq "$RMQ_DIR"
        log "rabbitmq: stopped after $(elapsed "$t0")"
    fi
    rm -f "$RMQ_PIDFILE" "$RMQ_LAUNCHER_PIDFILE"
}

rmq_status() {
    if rmq_up; then
        echo "rabbitmq: running  pid $(rmq_beam_pid)  node $RMQ_NODE  amqp $LOOPBACK:$AMQP_PORT  epmd $EPMD_PORT"
    elif rmq_running; then
        echo "rabbitmq: starting/unhealthy (process alive, amqp $LOOPBACK:$AMQP_PORT not accepting)"; return 1
    else
        echo "rabbitmq: stopped"; return 1
    fi
}

# ------------------------------------------------------------------- Redis ---

redis_pid() {
    local p
    p="$(read_pid "$REDIS_PIDFILE")"
    if pid_alive "$p"; then printf '%s' "$p"; fi
}

# redis_cli SECONDS ARGS...: redis-cli under a time limit, the password in its environment
# (REDISCLI_AUTH), not on its command line
redis_cli() {
    local t="$1"; shift
    if [ -n "$REDIS_PASSWORD" ]; then
        REDISCLI_AUTH="$REDIS_PASSWORD" timeout "$t" redis-cli --no-auth-warning \
            -h "$LOOPBACK" -p "$REDIS_PORT" "$@"
    else
        timeout "$t" redis-cli -h "$LOOPBACK" -p "$REDIS_PORT" "$@"
    fi
}

redis_ping() { [ "$(redis_cli 3 ping 2>/dev/null)" = PONG ]; }

redis_up() { [ -n "$(redis_pid)" ] && redis_ping; }

redis_start() {
    local t0; t0="$(now_ms)"
    if redis_up; then
        log "redis: already running (pid $(redis_pid), $LOOPBACK:$REDIS_PORT)"
        return 0
    fi
    ensure_packages redis
    if [ -z "$(redis_pid)" ]; then
        kill_leftovers redis "$REDIS_DIR"
        tcp_open "$REDIS_PORT" && die "redis: port $LOOPBACK:$REDIS_PORT is already in use by another process"
        mkdir -p "$REDIS_DIR"
        rm -f "$REDIS_PIDFILE"
        log "redis: starting on $LOOPBACK:$REDIS_PORT"
        # the config file carries what must not show in `ps`: requirepass
        (umask 077; printf '# generated by deploy/services.sh - rewritten on every start\n' \
            >"$REDIS_DIR/redis.conf")
        if [ -n "$REDIS_PASSWORD" ]; then
            printf 'requirepass "%s"\n' "$REDIS_PASSWORD" >>"$REDIS_DIR/redis.conf"
        fi
        (cd "$REDIS_DIR" && redis-server "$REDIS_DIR/redis.conf" --port "$REDIS_PORT" --bind "$LOOPBACK" \
            --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_PIDFILE" \
            --logfile "$REDIS_LOG" --save "" --appendonly no 9>&-) >/dev/null 2>>"$REDIS_LOG" \
            || { show_log_tail "$REDIS_LOG"; die "redis: redis-server failed to start"; }
    fi
    local deadline=$((SECONDS + REDIS_START_TIMEOUT))
    until redis_ping; do
        if (( SECONDS >= deadline )); then
            show_log_tail "$REDIS_LOG"
            die "redis: no PONG on $LOOPBACK:$REDIS_PORT within ${REDIS_START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    [ -n "$(redis_pid)" ] || { show_log_tail "$REDIS_LOG"; die "redis: answers but no live pid in $REDIS_PIDFILE"; }
    log "redis: up after $(elapsed "$t0") (pid $(redis_pid))"
}

redis_stop() {
    local p; p="$(redis_pid)"
    if [ -z "$p" ] && [ -z "$(procs_in "$REDIS_DIR" | head -n1)" ]; then
        log "redis: not running"
    else
        local t0; t0="$(now_ms)"
        log "redis: stopping"
        if [ -n "$p" ]; then
            redis_cli 10 shutdown nosave >/dev/null 2>&1 || true
            wait_pid_gone "$p" 15 || warn "redis: pid $p still alive after shutdown"
        fi
        kill_leftovers redis "$REDIS_DIR"
        log "redis: stopped after $(elapsed "$t0")"
    fi
    rm -f "$REDIS_PIDFILE"
}

redis_status() {
    if redis_up; then
        echo "redis: running  pid $(redis_pid)  $LOOPBACK:$REDIS_PORT"
    elif [ -n "$(redis_pid)" ]; then
        echo "redis: unhealthy (pid $(redis_pid) alive, no PONG on $LOOPBACK:$REDIS_PORT)"; return 1
    else
        echo "redis: stopped"; return 1
    fi
}

# -------------------------------------------------------------- PostgreSQL ---

pg_pid() {
    local p
    p="$(read_pid "$PG_DATA/postmaster.pid")"
    if pid_alive "$p"; then printf '%s' "$p"; fi
}

pg_ready() {
    timeout 5 "$PG_BIN/pg_isready" -q -h "$LOOPBACK" -p "$PG_PORT" -d postgres >/dev/null 2>&1
}

pg_up() { find_pg_bin; [ -n "$PG_BIN" ] && [ -n "$(pg_pid)" ] && pg_ready; }

pg_psql() { # SQL via stdin, as superuser postgres over TCP
    PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$LOOPBACK" -p "$PG_PORT" -U postgres -d postgres
}

pg_init() {
    local ver; ver="$(basename "$(dirname "$PG_BIN")")"
    if [ -s "$PG_DATA/PG_VERSION" ]; then
        local have; have="$(cat "$PG_DATA/PG_VERSION")"
        [ "$have" = "$ver" ] || die "postgres: $PG_DATA was made by PostgreSQL $have but $ver is installed; run '$0 wipe'"
        return 0
    fi
    log "postgres: initdb (PostgreSQL $ver) in $PG_DATA"
    rm -rf "$PG_DATA"
    local out
    if ! out="$(as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres \
            --encoding=UTF8 --locale=C 2>&1)"; then
        printf '%s\n' "$out" >&2
        rm -rf "$PG_DATA"
        die "postgres: initdb failed"
    fi
}

# pg_hba.conf when WEFT_TLS_DIR or WEFT_PG_PASSWORD is set (initdb's, all trust, otherwise):
# the superuser stays trusted on loopback for this script, every other role needs its
# password, and over TLS when there is TLS
pg_write_hba() {
    [ -n "$TLS_DIR" ] || [ -n "$PG_PASSWORD" ] || return 0
    local kind=host
    [ -n "$TLS_DIR" ] && kind=hostssl
    cat >"$PG_DATA/pg_hba.conf" <<EOF
# generated by deploy/services.sh - rewritten on every start
local   all  all                    trust
host    all  postgres  $LOOPBACK/32   trust
$kind  all  all       $LOOPBACK/32   scram-sha-256
EOF
    is_root && chown postgres: "$PG_DATA/pg_hba.conf"
    return 0
}

# The server's certificate and key, copied where the server's user owns them: Postgres
# refuses a key that others can read. Prints the extra server options.
pg_tls_options() {
    [ -n "$TLS_DIR" ] || return 0
    mkdir -p "$PG_DIR/tls"
    cp "$TLS_DIR/server.pem" "$PG_DIR/tls/server.pem"
    (umask 077; cp "$TLS_DIR/server.key" "$PG_DIR/tls/server.key")
    chmod 0600 "$PG_DIR/tls/server.key"
    is_root && chown -R postgres: "$PG_DIR/tls"
    printf " -c ssl=on -c ssl_cert_file='%s' -c ssl_key_file='%s'" \
        "$PG_DIR/tls/server.pem" "$PG_DIR/tls/server.key"
}

pg_start() {
    local t0; t0="$(now_ms)"
    if pg_up; then
        log "postgres: already running (pid $(pg_pid), $LOOPBACK:$PG_PORT)"
        return 0
    fi
    ensure_packages postgres
    ensure_pg_user
    find_pg_bin
    mkdir -p "$PG_DIR" "$PG_SOCK"
    if is_root; then
        chown postgres: "$PG_DIR" "$PG_SOCK"
        [ -d "$PG_DATA" ] && chown -R postgres: "$PG_DATA"
    fi
    chmod 0755 "$PG_DIR"
    chmod 0775 "$PG_SOCK"
    pg_init
    if [ -z "$(pg_pid)" ]; then
        kill_leftovers postgres "$PG_DIR"   # orphaned backends after a kill -9
        tcp_open "$PG_PORT" && die "postgres: port $LOOPBACK:$PG_PORT is already in use by another process"
        log "postgres: starting on $LOOPBACK:$PG_PORT"
        touch "$PG_LOG"; is_root && chown postgres: "$PG_LOG"
        pg_write_hba
        local tls; tls="$(pg_tls_options)"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t "$PG_START_TIMEOUT" -l "$PG_LOG" start \
                -o "-c listen_addresses=$LOOPBACK -p $PG_PORT -c unix_socket_directories='$PG_SOCK' -c max_connections=200$tls" \
                >/dev/null 2>&1; then
            show_log_tail "$PG_LOG"
            die "postgres: pg_ctl start failed"
        fi
    else
        log "postgres: postmaster $(pg_pid) is alive but not ready yet; waiting"
    fi
    local deadline=$((SECONDS + PG_START_TIMEOUT))
    until pg_ready; do
        if (( SECONDS >= deadline )) || [ -z "$(pg_pid)" ]; then
            show_log_tail "$PG_LOG"
            die "postgres: not accepting connections on $LOOPBACK:$PG_PORT"
        fi
        sleep 0.2
    done
    pg_psql <<'SQL' >/dev/null || { show_log_tail "$PG_LOG"; die "postgres: creating role/database weft failed"; }
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft') THEN
        CREATE ROLE weft LOGIN PASSWORD 'weft';
    END IF;
END
$$;
SELECT 'CREATE DATABASE weft OWNER weft ENCODING ''UTF8'''
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'weft') \gexec
SQL
    if [ -n "$PG_PASSWORD" ]; then
        # through stdin, so the password is on no command line
        printf "ALTER ROLE weft PASSWORD '%s';\n" "$PG_PASSWORD" | pg_psql >/dev/null \
            || die "postgres: setting the password of role weft failed"
    fi
    log "postgres: up after $(elapsed "$t0") (pid $(pg_pid))"
}

pg_stop() {
    find_pg_bin
    local p; p="$(pg_pid)"
    if [ -z "$p" ] && [ -z "$(procs_in "$PG_DIR" | head -n1)" ]; then
        log "postgres: not running"
        return 0
    fi
    local t0; t0="$(now_ms)"
    log "postgres: stopping"
    if [ -n "$p" ] && [ -n "$PG_BIN" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
            || warn "postgres: pg_ctl stop failed"
        wait_pid_gone "$p" 10 || true
    fi
    kill_leftovers postgres "$PG_DIR"
    log "postgres: stopped after $(elapsed "$t0")"
}

pg_status() {
    if pg_up; then
        echo "postgres: running  pid $(pg_pid)  $LOOPBACK:$PG_PORT  data $PG_DATA"
    elif [ -n "$(pg_pid)" ]; then
        echo "postgres: unhealthy (postmaster $(pg_pid) alive, not ready on $LOOPBACK:$PG_PORT)"; return 1
    else
        echo "postgres: stopped"; return 1
    fi
}

# -------------------------------------------------------------------- main ---

check_service() {
    case "${1:-}" in
        rabbitmq|redis|postgres) ;;
        "") die "missing SERVICE (rabbitmq|redis|postgres)" ;;
        *) die "unknown service '$1' (rabbitmq|redis|postgres)" ;;
    esac
}

fn_of() { case "$1" in rabbitmq) echo rmq ;; redis) echo redis ;; postgres) echo pg ;; esac; }

# Serialise start/stop on one state dir. Every command that can leave a
# process behind runs with `9>&-`, or the daemon would inherit the lock.
lock_state() {
    exec 9>>"$STATE_DIR/.lock"
    flock -w 300 9 || die "another services.sh holds $STATE_DIR/.lock"
}

start_one() {
    "$(fn_of "$1")_start"
}

stop_one() {
    "$(fn_of "$1")_stop"
}

stop_all() {
    lock_state
    find_rmq_bin
    local s
    for s in "${SERVICES[@]}"; do stop_one "$s"; done
    if command -v epmd >/dev/null; then stop_epmd; fi
}

usage() {
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
}

main() {
    local cmd="${1:-}"
    [ $# -gt 0 ] && shift
    case "$cmd" in
        env)
            resolve_state_dir 2>/dev/null
            env_lines
            return 0 ;;
        rabbitmqctl)
            resolve_state_dir
            find_rmq_bin
            rmqctl "$@"
            return $? ;;
        start)
            ensure_packages "${SERVICES[@]}"
            ensure_pg_user
            resolve_state_dir
            prepare_state_dir
            lock_state
            write_env_file
            local s
            for s in "${SERVICES[@]}"; do start_one "$s"; done
            log "all services up; environment in $STATE_DIR/env"
            ;;
        start-one)
            check_service "${1:-}"
            ensure_packages "$1"
            [ "$1" = postgres ] && ensure_pg_user
            resolve_state_dir
            prepare_state_dir
            lock_state
            write_env_file
            start_one "$1"
            ;;
        stop)
            resolve_state_dir
            [ -d "$STATE_DIR" ] || { log "nothing to stop ($STATE_DIR does not exist)"; return 0; }
            stop_all
            ;;
        stop-one)
            check_service "${1:-}"
            resolve_state_dir
            [ -d "$STATE_DIR" ] || { log "nothing to stop ($STATE_DIR does not exist)"; return 0; }
            lock_state
            find_rmq_bin
            stop_one "$1"
            ;;
        restart)
            check_service "${1:-}"
            ensure_packages "$1"
            [ "$1" = postgres ] && ensure_pg_user
            resolve_state_dir
            prepare_state_dir
            lock_state
            find_rmq_bin
            write_env_file
            stop_one "$1"
            start_one "$1"
            ;;
        status)
            [ -n "${1:-}" ] && check_service "$1"
            resolve_state_dir
            find_rmq_bin
            find_pg_bin
            echo "state: $STATE_DIR"
            local rc=0 s
            for s in ${1:-${SERVICES[@]}}; do
                "$(fn_of "$s")_status" || rc=3
            done
            return $rc ;;
        wipe)
            resolve_state_dir
            [ -d "$STATE_DIR" ] || { log "nothing to wipe ($STATE_DIR does not exist)"; return 0; }
            if [ ! -e "$STATE_DIR/.weft-state" ] && [ -n "$(ls -A "$STATE_DIR")" ]; then
                die "$STATE_DIR does not look like a weft state dir (no .weft-state marker); not deleting it"
            fi
            stop_all
            log "deleting $STATE_DIR"
            rm -rf -- "$STATE_DIR"
            rm -rf -- "/tmp/weft-pgsock-$(id -u)-$PG_PORT"
            ;;
        -h|--help|help)
            usage ;;
        *)
            usage
            return 2 ;;
    esac
}

# deploy/cluster.sh sources this file for its helpers and runs its own main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
