#!/usr/bin/env bash
# The seed's DownloadWorkflow and ProfilingWorkflow (deploy/examples/download.json,
# profiling.json and profiling/) against a real S3-compatible server on loopback (moto, from
# WEFT_TEST_S3_PYTHON or the python3 on PATH), seeded by the example's own seed.py:
#  - through the three consumers: profiling runs download as a child (a map of s3.get over
#    the scan's artifacts) and returns its manifest: both kinds downloaded, 20000 points
#    profiled, the profile uploaded and found in the bucket;
#  - in direct mode: a scan without a point cloud and a scan with a duplicate kind fail
#    PERMANENT with messages that name the scan and the kind; a bad scan_id is refused by
#    name; kinds filter what is downloaded.
set -uo pipefail
: "${WEFT_BIN_WEFT:?set by meson}" "${WEFT_DATABASE_URL:?the test command sets the service URLs}"
examples="$(cd "$(dirname "$0")/../../deploy/examples" && pwd)"
python=${WEFT_TEST_S3_PYTHON:-python3}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
work=$(mktemp -d /tmp/weft-profiling-test-XXXXXX)
pids=()
cleanup() {
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$python" -c 'import moto.server, boto3' || { echo "FAIL: $python has no moto/boto3" >&2; exit 1; }
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m moto.server -H 127.0.0.1 -p "$port" > "$work/s3.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export WEFT_S3_ENDPOINT="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test-key AWS_SECRET_ACCESS_KEY=test-secret
bucket="weft-scans-$$"
"$python" "$examples/profiling/seed.py" "$WEFT_S3_ENDPOINT" "$bucket" || fail "seed.py failed"
export WEFT_DATA_DIR="$work/data" WEFT_TASKS_FILE="$examples/profiling/tasks.json"
mkdir -p "$WEFT_DATA_DIR"
"$WEFT_BIN_WEFT" define "$examples/download.json" > /dev/null || fail "weft define download.json"

# Through the consumers, as deploy/examples/profiling/run.sh runs it.
"$WEFT_BIN_WEFT_ENTRY" > "$work/entry.log" 2>&1 & pids+=($!)
"$WEFT_BIN_WEFT_ACTIVITY" --concurrency 4 > "$work/activity.log" 2>&1 & pids+=($!)
"$WEFT_BIN_WEFT_HANDOFF" > "$work/handoff.log" 2>&1 & pids+=($!)
out=$("$WEFT_BIN_WEFT" submit "$examples/profiling.json" --wait --timeout 90 \
      --inputs "{\"scan_id\": \"scan-001\", \"bucket\": \"$bucket\"}" 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "profiling scan-001: exit $rc: $out $(tail -20 "$work/activity.log")"
check=$(printf '%s' "$out" | sed -n '/^{/,$p' | /usr/bin/python3 -c '
import json, sys
m = json.load(sys.stdin)["manifest"]
assert m["scan_id"] == "scan-001", m
assert sorted(m["files"]) == ["raw.point_cloud", "raw.trajectory"], m["files"]
assert m["files"]["raw.point_cloud"].endswith("/scan-001/raw.point_cloud/cloud.xyz"), m["files"]
assert m["profile"]["points"] == 20000, m["profile"]
assert m["uploaded"]["key"] == "profiles/scan-001/profile.json" and m["uploaded"]["etag"], m
print("ok")' 2>&1)
[ "$check" = ok ] || fail "profiling scan-001 manifest: $check (output: $out)"
uploaded=$("$python" -c '
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
print(s3.get_object(Bucket=sys.argv[2], Key="profiles/scan-001/profile.json")["Body"].read().decode())
' "$WEFT_S3_ENDPOINT" "$bucket" 2>&1)
case $uploaded in *'"points": 20000'*) ;; *) fail "the uploaded profile: $uploaded" ;; esac

# Direct mode: the clear errors.
expect_failure() { # SCAN NEEDLE...
    local scan=$1; shift
    local got
    got=$("$WEFT_BIN_WEFT" run "$examples/profiling.json" \
          --inputs "{\"scan_id\": \"$scan\", \"bucket\": \"$bucket\"}" 2>&1)
    local code=$?
    [ "$code" = 1 ] || fail "profiling $scan: exit $code, want 1: $got"
    for needle in "$@"; do
        case $got in *"$needle"*) ;; *) fail "profiling $scan: no '$needle' in: $got" ;; esac
    done
}
expect_failure scan-002 "scan scan-002: no raw artifact of kind raw.point_cloud" \
    "activity 'download' failed: child workflow"
expect_failure scan-003 "scan scan-003: kind raw.point_cloud appears twice"
expect_failure 'no/slashes' "scan_id must be a name"
expect_failure scan-404 "scan scan-404: no raw artifacts of raw.point_cloud, raw.trajectory"

# download alone with kinds: only what was asked for
out=$("$WEFT_BIN_WEFT" run "$examples/download.json" \
      --inputs "{\"scan_id\": \"scan-001\", \"bucket\": \"$bucket\", \"kinds\": [\"raw.images\"]}" 2>&1)
check=$(printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
files = json.load(sys.stdin)["files"]
assert list(files) == ["raw.images"], files
print("ok")' 2>&1)
[ "$check" = ok ] || fail "download with kinds: $check (output: $out)"

echo "profiling_example: $failures failure(s)"
[ "$failures" = 0 ]
