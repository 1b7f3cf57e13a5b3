#!/usr/bin/env bash
# What a global limit costs per attempt: chains of no-op steps (weft_bench chains) with the
# type `noop` unlimited and with a global limit on it that is never reached (1000), in
# alternating runs on the same services and processes. Uses the services of the environment
# (WEFT_AMQP_URL, WEFT_DATABASE_URL, WEFT_REDIS_URL) and the binaries of BUILD_DIR.
# Usage: limit_overhead.sh BUILD_DIR [ROUNDS] [WORKFLOWS]; prints one line per run and the
# medians.
set -euo pipefail
build=$1 rounds=${2:-3} workflows=${3:-100}
weft=$build/entry/weft
bench=$build/tests/bench/weft_bench
. "$(dirname "$0")/consumers.sh"
trap '"$weft" limit clear noop >/dev/null 2>&1 || true; bench_cleanup' EXIT
bench_start "$build" --concurrency 4
"$weft" limit clear noop >/dev/null 2>&1 || true
"$bench" chains 20 4 noop >/dev/null # warm-up: connections, plans, task processes
declare -A runs=([none]="" [limit]="")
for ((r = 1; r <= rounds; r++)); do
  for mode in none limit; do
    if [ "$mode" = limit ]; then "$weft" limit set noop 1000 2>/dev/null; else
      "$weft" limit clear noop 2>/dev/null || true; fi
    sleep 1.5 # the workers' cache of the limits turns over
    s=$("$bench" chains "$workflows" 4 noop | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["steps_per_s"])')
    echo "round $r, $mode: $s steps/s"
    runs[$mode]+="$s "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
n=$(echo "${runs[none]}" | median) l=$(echo "${runs[limit]}" | median)
echo "median: no limit $n steps/s, global limit $l steps/s"
python3 -c "n,l=$n,$l; print('per attempt: %.0f us more (%.1f%% fewer steps/s)' % (1e6/l - 1e6/n, 100*(1-l/n)))"
