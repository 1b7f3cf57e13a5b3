#!/usr/bin/env bash
# S3 downloads through weft (DESIGN §13, §11): a map of s3.get over 8 objects of 5 MB with
# max_parallel 1 and then 4, timed from the workflows' own durations; then one s3.get of a
# 200 MB object, with the peak resident memory (VmHWM) of the task process that streamed
# it and of weft-activity itself. Against a local S3-compatible server (moto, from
# WEFT_S3_PYTHON or the python3 on PATH) that this script starts and seeds, behind
# throttle_relay.py: 20 MB/s per connection and 20 ms to first byte, as a distant S3 is to
# one stream (on loopback one stream is as fast as the machine, and parallelism shows
# nothing but the two cores). Uses the services
# of the environment (WEFT_AMQP_URL, WEFT_DATABASE_URL, WEFT_REDIS_URL) and the binaries of
# BUILD_DIR. Usage: s3_downloads.sh BUILD_DIR [ROUNDS (2)]
set -euo pipefail
build=$1 rounds=${2:-2}
weft=$build/entry/weft
python=${WEFT_S3_PYTHON:-python3}
. "$(dirname "$0")/consumers.sh"
work=$(mktemp -d /tmp/weft-s3-bench-XXXXXX) bench_work=$work
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m moto.server -H 127.0.0.1 -p "$port" > "$work/s3.log" 2>&1 & bench_pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
relay=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkfifo "$work/relay.in"
"$python" "$(dirname "$0")/throttle_relay.py" "$relay" "$port" 20 20 < "$work/relay.in" & bench_pids+=($!)
exec 7> "$work/relay.in" # the relay runs while this stays open
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$relay") 2>/dev/null && break; sleep 0.1; done
export WEFT_S3_ENDPOINT="http://127.0.0.1:$relay" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
"$python" - "$WEFT_S3_ENDPOINT" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.create_bucket(Bucket="bench")
five = os.urandom(5 * 1024 * 1024)
for i in range(8):
    s3.put_object(Bucket="bench", Key="five/%d.bin" % i, Body=five)
big = os.urandom(1024 * 1024) * 200
s3.put_object(Bucket="bench", Key="big/200mb.bin", Body=big)
PY
export WEFT_DATA_DIR="$work/data"
mkdir -p "$WEFT_DATA_DIR"
bench_start "$build" --concurrency 4
map_def() { # MAX_PARALLEL
  cat <<JSON
{"name": "s3_bench_$1", "activities": [
  {"name": "list", "task": "s3.list", "params": {"bucket": "bench", "prefix": "five/"}},
  {"name": "get", "task": "s3.get", "depends_on": ["list"], "params": {"bucket": "bench"},
   "map": {"over": "objects", "max_parallel": $1}}]}
JSON
}
seconds() { # UID: the workflow's duration
  psql "$WEFT_DATABASE_URL" -tAc "SELECT round(extract(epoch FROM finished_at - created_at)::numeric, 2) FROM weft_workflow WHERE uid = '$1'"
}
for ((r = 1; r <= rounds; r++)); do
  for p in 1 4; do
    map_def "$p" > "$work/map_$p.json"
    uid=$("$weft" submit "$work/map_$p.json" | tail -n 1)
    "$weft" wait "$uid" --timeout 600 > /dev/null
    echo "round $r: 8 x 5 MB, max_parallel $p: $(seconds "$uid") s"
  done
done
cat > "$work/big.json" <<'JSON'
{"name": "s3_bench_big", "activities": [
  {"name": "get", "task": "s3.get", "params": {"bucket": "bench", "key": "big/200mb.bin"}}]}
JSON
# the task processes' high-water marks start low: replace them with fresh ones first
kill "$bench_activity"; wait "$bench_activity" 2>/dev/null || true
WEFT_LOG_LEVEL=warn "$build/activity/weft-activity" --concurrency 1 & activity=$!
bench_pids+=($activity)
sleep 1
uid=$("$weft" submit "$work/big.json" | tail -n 1)
out=$("$weft" wait "$uid" --timeout 600)
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
peak=0
for c in $(pgrep -P "$activity"); do v=$(hwm "$c"); [ "$v" -gt "$peak" ] && peak=$v; done
echo "200 MB s3.get: $(seconds "$uid") s, $(printf '%s' "$out" | grep -o '"bytes": [0-9]*') ;" \
     "peak RSS: task process $((peak / 1024)) MiB, weft-activity $(( $(hwm "$activity") / 1024 )) MiB"
