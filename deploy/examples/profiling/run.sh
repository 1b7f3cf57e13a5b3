#!/usr/bin/env bash
# deploy/examples/profiling/run.sh [SCAN_ID] - the seed's ProfilingWorkflow end to end with one
# command: starts a local S3-compatible server (moto, on loopback), seeds it with sample raw
# artifacts (seed.py), then deploy/run.sh stores the `download` definition, starts the
# services and consumers with this folder's task file and runs `profiling` for SCAN_ID
# (default scan-001), printing its manifest. scan-002 has no point cloud and scan-003 a
# duplicate kind: both fail PERMANENT with a message naming the scan and the kind.
# WEFT_S3_PYTHON: the python3 that has moto (default: python3 on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scan=${1:-scan-001}
python=${WEFT_S3_PYTHON:-python3}
"$python" -c 'import moto.server, boto3' 2>/dev/null || {
    echo "run.sh: '$python' has no moto/boto3 for the local S3 server; set WEFT_S3_PYTHON" \
         "or install them: $python -m pip install 'moto[server]' boto3" >&2
    exit 2
}
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp /tmp/weft-example-s3-XXXXXX.log)
"$python" -m moto.server -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
s3_pid=$!
trap 'kill "$s3_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$s3_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
# the workers' S3 configuration (activity/README.md): this local server, any key
export WEFT_S3_ENDPOINT="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=example-key AWS_SECRET_ACCESS_KEY=example-secret
"$python" "$here/seed.py" "$WEFT_S3_ENDPOINT"
"$here/../../run.sh" --tasks "$here/tasks.json" --define "$here/../download.json" \
    "$here/../profiling.json" "{\"scan_id\": \"$scan\"}"
