#!/usr/bin/env bash
# The dashboard test (suite browser): weft-entry with --http, a worker and the handoff on
# the services of the test environment, then dashboard_test.mjs drives the page in Debian's
# headless Chromium. What it needs is checked first and a missing piece fails the test,
# naming the fix; nothing is skipped. WEFT_DASHBOARD_SCREENSHOT: where the picture goes
# (default /tmp/weft-dashboard.png).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "test_dashboard.sh: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is missing (deploy/setup.sh installs nodejs)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (deploy/setup.sh installs chromium)"
[ -d "$here/node_modules/playwright-core" ] ||
    fail "playwright-core is missing: npm ci --prefix tests/browser (deploy/setup.sh runs it)"
for b in WEFT_BIN_WEFT_ENTRY WEFT_BIN_WEFT_ACTIVITY WEFT_BIN_WEFT_HANDOFF; do
    [ -x "${!b:-}" ] || fail "$b is not set to a binary (run through meson test)"
done

work=$(mktemp -d /tmp/weft-dashboard-XXXXXX)
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" > "$work/token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export WEFT_API_TOKEN_FILE="$work/token"
"$WEFT_BIN_WEFT_ENTRY" --http "127.0.0.1:$port" 2>"$work/entry.log" & pids+=($!)
"$WEFT_BIN_WEFT_ACTIVITY" --concurrency 2 2>"$work/activity.log" & pids+=($!)
"$WEFT_BIN_WEFT_HANDOFF" 2>"$work/handoff.log" & pids+=($!)
for _ in $(seq 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/')" \
        2>/dev/null && break
    sleep 0.2
done

rc=0
node "$here/dashboard_test.mjs" "http://127.0.0.1:$port" "$token" \
    "${WEFT_DASHBOARD_SCREENSHOT:-/tmp/weft-dashboard.png}" || rc=$?
if [ "$rc" != 0 ]; then
    for f in "$work"/*.log; do echo "== $f" >&2; tail -20 "$f" >&2; done
fi
exit "$rc"
