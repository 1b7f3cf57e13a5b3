#!/usr/bin/env bash
# tests/integration/test_tls.sh - TLS and credentials against real services.
#
# Starts its own RabbitMQ (a TLS listener), Postgres (ssl=on, role weft only over TLS, a
# checked password) and Redis (requirepass) with deploy/services.sh, on ports and a state
# folder of their own, with certificates this script makes with openssl. Then:
#   - the three consumers on amqps:// (peer and host name verified, WEFT_AMQP_CACERT),
#     sslmode=verify-full and the Redis password run one workflow through, submitted and
#     awaited with the CLI over TLS; every connection of theirs is checked to be TLS;
#   - a wrong CA (broker and Postgres), a certificate for another host (broker and
#     Postgres), a wrong Redis password and a missing one each stop a binary at start
#     with exit status 2 and one error line that names the problem; the CLI says it too;
#   - no password of the three URLs shows in `ps -eo args` while the consumers run, nor
#     in any log file of the services, the consumers or the CLI.
# Fails, never skips, when a tool or a service is missing. Stops what it started.
#
# Environment (optional; meson sets the first and the binaries):
#   WEFT_TLS_TEST_DIR    certificates, services' state and logs (<repo>/build/tests/tls)
#   WEFT_BIN_WEFT, WEFT_BIN_WEFT_ENTRY, WEFT_BIN_WEFT_ACTIVITY, WEFT_BIN_WEFT_HANDOFF
#                        the binaries (default <repo>/build/...)
#   WEFT_TLS_TEST_AMQP_PORT (5722; TLS on the next port), WEFT_TLS_TEST_RABBIT_DIST_PORT
#   (25722), WEFT_TLS_TEST_EPMD_PORT (4419), WEFT_TLS_TEST_REDIS_PORT (6429),
#   WEFT_TLS_TEST_PG_PORT (5482), WEFT_TLS_TEST_SPARE_PORT (5724: a TLS server whose
#   certificate names another host)
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT="${WEFT_TLS_TEST_DIR:-$REPO/build/tests/tls}"
case "$ROOT" in /*) ;; *) ROOT="$PWD/$ROOT" ;; esac
CERTS="$ROOT/certs"
STATE="$ROOT/state"
LOGS="$ROOT/logs"
SERVICES="$REPO/deploy/services.sh"
T0=$SECONDS

BIN_CLI="${WEFT_BIN_WEFT:-$REPO/build/entry/weft}"
BIN_ENTRY="${WEFT_BIN_WEFT_ENTRY:-$REPO/build/entry/weft-entry}"
BIN_ACTIVITY="${WEFT_BIN_WEFT_ACTIVITY:-$REPO/build/activity/weft-activity}"
BIN_HANDOFF="${WEFT_BIN_WEFT_HANDOFF:-$REPO/build/handoff/weft-handoff}"

# The test's own services: never the shared ones of the other tests, whose URLs and state
# folder the test command may have exported.
unset WEFT_AMQP_URL WEFT_DATABASE_URL WEFT_REDIS_URL WEFT_AMQP_CACERT \
    WEFT_AMQP_URL_FILE WEFT_DATABASE_URL_FILE WEFT_REDIS_URL_FILE
export WEFT_STATE_DIR="$STATE"
export WEFT_AMQP_PORT="${WEFT_TLS_TEST_AMQP_PORT:-5722}"
export WEFT_AMQPS_PORT=$((WEFT_AMQP_PORT + 1))
export WEFT_RABBIT_DIST_PORT="${WEFT_TLS_TEST_RABBIT_DIST_PORT:-25722}"
export WEFT_EPMD_PORT="${WEFT_TLS_TEST_EPMD_PORT:-4419}"
export WEFT_REDIS_PORT="${WEFT_TLS_TEST_REDIS_PORT:-6429}"
export WEFT_PG_PORT="${WEFT_TLS_TEST_PG_PORT:-5482}"
SPARE_PORT="${WEFT_TLS_TEST_SPARE_PORT:-5724}"
export WEFT_TLS_DIR="$CERTS"
export WEFT_LOG_LEVEL=info

# Distinctive passwords with characters a URL must escape; each holds a token that the
# leak checks look for, so a password found whole, %-escaped or cut at a bad escape counts.
MQ_TOKEN=TlsMqPw7 PG_TOKEN=TlsPgPw8 RD_TOKEN=TlsRdPw9
export WEFT_AMQP_PASSWORD="mq:${MQ_TOKEN}/1@x"
export WEFT_PG_PASSWORD="pg/${PG_TOKEN}%2?y"
export WEFT_REDIS_PASSWORD="rd@${RD_TOKEN}:3/z"
TOKENS=("$MQ_TOKEN" "$PG_TOKEN" "$RD_TOKEN")

FAILS=()
STARTED=()
say() { printf 'test_tls: %s\n' "$*" >&2; }
fail() { FAILS+=("$*"); say "FAIL: $*"; }
# fatal MESSAGE: a step the rest depends on failed
fatal() { fail "$*"; exit 1; }

cleanup() {
    local p
    for p in "${STARTED[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null; done
    if [ -d "$STATE" ]; then
        "$SERVICES" stop >>"$LOGS/services.log" 2>&1 8>&- || say "services.sh stop failed (see $LOGS/services.log)"
    fi
    local n=${#FAILS[@]}
    say "$((SECONDS - T0)) s; logs in $LOGS"
    if [ "$n" -gt 0 ]; then
        say "$n check(s) failed:"
        printf '  %s\n' "${FAILS[@]}" >&2
        exit 1
    fi
    say "all checks passed"
}
trap cleanup EXIT

for tool in openssl python3 psql flock; do
    command -v "$tool" >/dev/null || fatal "$tool is not installed"
done
for b in "$BIN_CLI" "$BIN_ENTRY" "$BIN_ACTIVITY" "$BIN_HANDOFF"; do
    [ -x "$b" ] || fatal "binary $b is missing: build first (meson sets WEFT_BIN_*)"
done

# Two builds (plain, sanitizer) run this test with the same ports: one at a time.
mkdir -p "$ROOT"
exec 8>>"/tmp/weft-tls-test-$(id -u)-$WEFT_AMQP_PORT.lock"
flock -w 600 8 || fatal "another test_tls.sh holds the ports $WEFT_AMQP_PORT.. for 10 minutes"

# A fresh start: the broker sets guest's password only when its database is created.
# (Without WEFT_TLS_DIR: the certificates of the last run may be gone.)
if [ -d "$STATE" ]; then
    env -u WEFT_TLS_DIR "$SERVICES" wipe >/dev/null 2>&1 8>&- \
        || fatal "cannot wipe the old state in $STATE"
fi
rm -rf "$CERTS" "$LOGS"
mkdir -p "$CERTS" "$LOGS"

# services.sh moves a state folder that the postgres user cannot reach to a shared
# fallback in /tmp; this test must never run services there
resolved="$(env -u WEFT_TLS_DIR "$SERVICES" env 2>/dev/null 8>&- | sed -n 's/^export WEFT_STATE_DIR=//p')"
[ "$resolved" = "$STATE" ] \
    || fatal "services.sh would put the state in '$resolved', not $STATE (the postgres user cannot reach it): set WEFT_TLS_TEST_DIR"

# ------------------------------------------------------------ certificates ---

# ca NAME SUBJECT: a self-signed CA in NAME.pem / NAME.key
ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "$2" -keyout "$CERTS/$1.key" -out "$CERTS/$1.pem" 2>>"$LOGS/openssl.log"
}

# leaf NAME CN SAN: a server certificate NAME.pem / NAME.key signed by ca
leaf() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
        -keyout "$CERTS/$1.key" -out "$CERTS/$1.csr" 2>>"$LOGS/openssl.log" &&
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
            "$3" >"$CERTS/$1.ext" &&
        openssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
            -CAcreateserial -days 2 -extfile "$CERTS/$1.ext" -out "$CERTS/$1.pem" \
            >>"$LOGS/openssl.log" 2>&1
}

ca ca "/CN=weft test CA" || fatal "openssl: cannot make the CA (see $LOGS/openssl.log)"
ca other-ca "/CN=weft unrelated CA" || fatal "openssl: cannot make the second CA"
leaf server localhost "DNS:localhost,IP:127.0.0.1" || fatal "openssl: cannot make the server certificate"
leaf elsewhere not-this-host.example "DNS:not-this-host.example" \
    || fatal "openssl: cannot make the certificate for another host"
openssl verify -CAfile "$CERTS/ca.pem" "$CERTS/server.pem" >>"$LOGS/openssl.log" 2>&1 \
    || fatal "openssl: the server certificate does not verify against its own CA"
chmod 0644 "$CERTS"/*.pem

# ---------------------------------------------------------------- services ---

say "starting RabbitMQ (TLS on $WEFT_AMQPS_PORT), Postgres (ssl=on, $WEFT_PG_PORT), Redis (requirepass, $WEFT_REDIS_PORT)"
if ! "$SERVICES" start >"$LOGS/services.log" 2>&1 8>&-; then
    tail -40 "$LOGS/services.log" >&2
    fatal "deploy/services.sh start failed (see $LOGS/services.log)"
fi
eval "$("$SERVICES" env 8>&-)" || fatal "deploy/services.sh env failed"
case "$WEFT_AMQP_URL" in amqps://*@localhost:"$WEFT_AMQPS_PORT") ;; *) fatal "WEFT_AMQP_URL is not amqps:// on localhost:$WEFT_AMQPS_PORT" ;; esac
case "$WEFT_DATABASE_URL" in *sslmode=verify-full*sslrootcert=*) ;; *) fatal "WEFT_DATABASE_URL does not ask for sslmode=verify-full" ;; esac
[ "$WEFT_AMQP_CACERT" = "$CERTS/ca.pem" ] || fatal "WEFT_AMQP_CACERT is not the test's CA"
GOOD_AMQP_URL="$WEFT_AMQP_URL" GOOD_DATABASE_URL="$WEFT_DATABASE_URL"

# ------------------------------------------------------------- processes ---

alive() { kill -0 "$1" 2>/dev/null; }

# start NAME BINARY [ARGS...]: a consumer with its log in LOGS/NAME.log; sets PID_NAME
start() {
    local name="$1" bin="$2"
    shift 2
    "$bin" "$@" >>"$LOGS/$name.log" 2>&1 8>&- &
    STARTED+=($!)
    printf -v "PID_$name" '%s' $!
}

# wait_consuming NAME N: the consumer logged "consuming" N times (once per thread)
wait_consuming() {
    local name="$1" want="$2" pid="PID_$1" deadline=$((SECONDS + 30))
    until [ "$(grep -c 'consuming' "$LOGS/$name.log" 2>/dev/null)" -ge "$want" ]; do
        alive "${!pid}" || { cat "$LOGS/$name.log" >&2; fatal "$name exited at start"; }
        ((SECONDS < deadline)) || { cat "$LOGS/$name.log" >&2; fatal "$name not consuming after 30 s"; }
        sleep 0.1
    done
}

# --------------------------------------------------- one workflow over TLS ---

start entry "$BIN_ENTRY"
wait_consuming entry 1 # the first one applies the migrations alone
start activity "$BIN_ACTIVITY" --concurrency 2
start handoff "$BIN_HANDOFF"
wait_consuming activity 2
wait_consuming handoff 1
say "consumers up over TLS"

# every broker connection (4) and every Postgres session of role weft is TLS
conns="$("$SERVICES" rabbitmqctl -q list_connections ssl user 2>>"$LOGS/services.log" 8>&-)"
printf '%s\n' "$conns" >"$LOGS/connections.txt"
n_tls=$(printf '%s\n' "$conns" | awk '$1 == "true" && $2 == "guest"' | wc -l)
n_plain=$(printf '%s\n' "$conns" | awk '$1 == "false"' | wc -l)
[ "$n_tls" -ge 4 ] && [ "$n_plain" = 0 ] \
    || fail "broker connections: $n_tls over TLS (want >= 4), $n_plain without (want 0): $conns"
pg_tls="$(PGCONNECT_TIMEOUT=10 psql -X -At -h 127.0.0.1 -p "$WEFT_PG_PORT" -U postgres -d weft -c \
    "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_activity a
     JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'weft'" 2>&1 8>&-)"
case "$pg_tls" in
    [1-9]*"|t") ;;
    *) fail "Postgres sessions of role weft: want all over TLS, got '$pg_tls'" ;;
esac

cat >"$ROOT/tls_check.json" <<'EOF'
{
  "name": "tls_check",
  "activities": [
    {"name": "greet", "task": "noop", "params": {"greeting": "hello"}},
    {"name": "count", "task": "text.summary", "depends_on": ["greet"],
     "params": {"content": "one two two"}},
    {"name": "join", "task": "noop", "depends_on": ["greet", "count"]}
  ]
}
EOF
"$BIN_CLI" submit "$ROOT/tls_check.json" --inputs '{"who": "tls"}' --wait --timeout 60 \
    >"$LOGS/submit.out" 2>"$LOGS/submit.log" 8>&-
rc=$?
uid="$(tail -n1 "$LOGS/submit.log")"
if [ "$rc" != 0 ]; then
    fail "weft submit --wait over TLS exited $rc: $(cat "$LOGS/submit.log")"
elif ! python3 - "$LOGS/submit.out" <<'EOF'; then
import json, sys
out = json.load(open(sys.argv[1]))
join = out["join"]
assert list(out) == ["join"], out
assert join["who"] == "tls" and join["greeting"] == "hello", join
assert join["words"] == 3 and join["lines"] == 1, join
EOF
    fail "the workflow's output is not what it computes: $(cat "$LOGS/submit.out")"
fi
"$BIN_CLI" status "$uid" >"$LOGS/status.out" 2>"$LOGS/status.log" 8>&-
rc=$?
[ "$rc" = 0 ] && grep -q 'completed' "$LOGS/status.out" \
    || fail "weft status $uid over TLS exited $rc: $(cat "$LOGS/status.out" "$LOGS/status.log")"
say "workflow $uid completed over TLS"

# ------------------------------------------------- no password in ps output ---

ps -eo args >"$ROOT/ps.txt" 2>&1 || fail "ps -eo args failed"
grep -q "weft-activity" "$ROOT/ps.txt" || fail "ps -eo args does not show the running consumers"
for t in "${TOKENS[@]}"; do
    if grep -qF "$t" "$ROOT/ps.txt"; then
        fail "a password (token $t) shows in ps -eo args: $(grep -F "$t" "$ROOT/ps.txt" | sed "s/$t/<token>/g")"
    fi
done

# ------------------------------------------ refused configuration at start ---

# refused NAME WANT BINARY [ARGS...], with the URLs to try in the environment: the binary
# exits with status 2 within 20 s and its log is one error line that contains WANT
refused() {
    local name="$1" want="$2" bin="$3" rc log errors
    shift 3
    log="$LOGS/refused-$name.log"
    timeout 20 "$bin" "$@" >"$log" 2>&1 8>&-
    rc=$?
    errors=$(grep -c ' error ' "$log")
    if [ "$rc" != 2 ]; then
        fail "$name: $(basename "$bin") exited $rc, want 2 (124: it kept retrying): $(cat "$log")"
    elif [ "$errors" != 1 ] || [ "$(grep -c . "$log")" != 1 ]; then
        fail "$name: want one error line and nothing else, got: $(cat "$log")"
    elif ! grep -qF -- "$want" "$log"; then
        fail "$name: the error does not say '$want': $(cat "$log")"
    else
        say "$name: exit 2: $(sed 's/^[^ ]* error //' "$log")"
    fi
}

WEFT_AMQP_CACERT="$CERTS/other-ca.pem" \
    refused amqp_wrong_ca "does not verify against the CA file '$CERTS/other-ca.pem' (WEFT_AMQP_CACERT)" \
    "$BIN_ENTRY"
WEFT_AMQP_CACERT="$CERTS/missing.pem" \
    refused amqp_missing_ca "cannot load the CA file '$CERTS/missing.pem'" "$BIN_HANDOFF"

# a TLS server with a certificate of the right CA, for another host: only the host name
# check can refuse it
openssl s_server -quiet -accept "127.0.0.1:$SPARE_PORT" -cert "$CERTS/elsewhere.pem" \
    -key "$CERTS/elsewhere.key" </dev/null >>"$LOGS/s_server.log" 2>&1 8>&- &
STARTED+=($!)
s_server=$!
for _ in $(seq 1 50); do
    timeout 1 bash -c ": </dev/tcp/127.0.0.1/$SPARE_PORT" 2>/dev/null && break
    sleep 0.1
done
WEFT_AMQP_URL="${GOOD_AMQP_URL%:*}:$SPARE_PORT" \
    refused amqp_other_host "the broker's certificate is not for host 'localhost'" "$BIN_ENTRY"
kill "$s_server" 2>/dev/null

WEFT_DATABASE_URL="${GOOD_DATABASE_URL/ca.pem/other-ca.pem}" \
    refused postgres_wrong_ca "TLS: the server's certificate does not verify against sslrootcert" \
    "$BIN_ACTIVITY" --concurrency 3
# host= names what the certificate must say, hostaddr= where to connect
WEFT_DATABASE_URL="${GOOD_DATABASE_URL/@localhost:/@not-this-host.example:}&hostaddr=127.0.0.1" \
    refused postgres_other_host "TLS: the server's certificate is not for the host of the URL" \
    "$BIN_ENTRY"

WEFT_REDIS_URL="redis://:wrong-${RD_TOKEN}-guess@127.0.0.1:$WEFT_REDIS_PORT/0" \
    refused redis_wrong_password "refuses the credentials of WEFT_REDIS_URL: WRONGPASS" \
    "$BIN_HANDOFF"
WEFT_REDIS_URL="redis://127.0.0.1:$WEFT_REDIS_PORT/0" \
    refused redis_no_password "wants a password and WEFT_REDIS_URL has none" "$BIN_ENTRY"

# the CLI says the same in its one line, with its own exit status for errors
WEFT_AMQP_CACERT="$CERTS/other-ca.pem" "$BIN_CLI" submit "$ROOT/tls_check.json" \
    >"$LOGS/cli-wrong-ca.out" 2>"$LOGS/cli-wrong-ca.log" 8>&-
rc=$?
[ "$rc" = 3 ] && [ "$(grep -c . "$LOGS/cli-wrong-ca.log")" = 1 ] \
    && grep -qF "does not verify against the CA file" "$LOGS/cli-wrong-ca.log" \
    || fail "weft submit with a wrong CA: exit $rc, want 3 and one line: $(cat "$LOGS/cli-wrong-ca.log")"

# the consumers that run with the right configuration kept running throughout
for name in entry activity handoff; do
    pid="PID_$name"
    alive "${!pid}" || fail "$name died during the test: $(tail -5 "$LOGS/$name.log")"
done

# --------------------------------------------- stop, then no password in logs ---

for name in entry activity handoff; do
    pid="PID_$name"
    kill -TERM "${!pid}" 2>/dev/null
done
for name in entry activity handoff; do
    pid="PID_$name"
    wait "${!pid}"
    rc=$?
    [ "$rc" = 0 ] || fail "$name exited $rc after SIGTERM, want 0"
done
STARTED=()
"$SERVICES" stop >>"$LOGS/services.log" 2>&1 8>&- || fail "deploy/services.sh stop failed"

# every log: the consumers', the CLI's, the services' (RabbitMQ's folder, Redis, Postgres)
mapfile -t logs < <(find "$LOGS" "$STATE" -type f \( -name '*.log' -o -name '*.log.*' \
    -o -path "$STATE/rabbitmq/log/*" -o -path "$LOGS/*" \) | sort -u)
[ "${#logs[@]}" -ge 10 ] || fail "found only ${#logs[@]} log files to check: ${logs[*]}"
for f in "$STATE/rabbitmq/log/weft@localhost.log" "$STATE/redis/redis.log" "$STATE/postgres/postgres.log"; do
    [ -s "$f" ] || fail "service log $f is missing or empty"
done
for t in "${TOKENS[@]}"; do
    # the check finds what it looks for: the env file holds every password
    grep -qF "$t" "$STATE/env" || fail "token $t is not in $STATE/env: the leak check would see nothing"
    for f in "${logs[@]}"; do
        if grep -qF "$t" "$f"; then
            fail "a password (token $t) is in $f: $(grep -F "$t" "$f" | head -3 | sed "s/$t/<token>/g")"
        fi
    done
done
say "no password in ps output or in ${#logs[@]} log files"
