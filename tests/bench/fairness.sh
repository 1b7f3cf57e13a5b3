#!/usr/bin/env bash
# Fairness (DESIGN §10): the end-to-end time of a small workflow (3 no-op steps in a chain)
# alone, then submitted right behind a fan-out of BIG no-op activities with its default
# max_parallel (200), then behind the same fan-out with the cap lifted (max_parallel BIG,
# every activity queued at once: what weft did before the cap). Uses the services of the
# environment (WEFT_AMQP_URL, WEFT_DATABASE_URL, WEFT_REDIS_URL) and the binaries of
# BUILD_DIR; prints one line per run.
# Usage: fairness.sh BUILD_DIR [BIG (10000)] [ROUNDS (3)]
set -euo pipefail
build=$1 big=${2:-10000} rounds=${3:-3}
weft=$build/entry/weft
. "$(dirname "$0")/consumers.sh"
work=$(mktemp -d /tmp/weft-fairness-XXXXXX) bench_work=$work
export WEFT_MAX_ACTIVITIES=$((big + 1)) WEFT_MAX_MESSAGE_BYTES=16777216
bench_start "$build" --concurrency 4
cat > "$work/small.json" <<'JSON'
{"name": "fair_small", "activities": [
  {"name": "one", "task": "noop"},
  {"name": "two", "task": "noop", "depends_on": ["one"]},
  {"name": "three", "task": "noop", "depends_on": ["two"]}]}
JSON
big_def() { # CAP
  python3 - "$big" "$1" <<'PY'
import json, sys
n, cap = int(sys.argv[1]), int(sys.argv[2])
acts = [{"name": "a%d" % i, "task": "noop"} for i in range(n)]
acts.append({"name": "sink", "task": "noop", "depends_on": [a["name"] for a in acts]})
print(json.dumps({"name": "fair_big", "max_parallel": cap, "activities": acts}))
PY
}
big_def 200 > "$work/big_capped.json"
big_def "$big" > "$work/big_uncapped.json"
small() { # prints the small workflow's seconds from submit to its end
  local t0 t1
  t0=$(date +%s.%N)
  "$weft" submit "$work/small.json" --wait --timeout 600 > /dev/null
  t1=$(date +%s.%N)
  python3 -c "print('%.2f' % ($t1 - $t0))"
}
"$weft" submit "$work/small.json" --wait > /dev/null # warm-up
for ((r = 1; r <= rounds; r++)); do
  echo "round $r: small alone $(small) s"
  for kind in capped uncapped; do
    uid=$("$weft" submit "$work/big_$kind.json" | tail -n 1)
    # the fan-out is created and queued before the small one is submitted
    until [ "$(psql "$WEFT_DATABASE_URL" -tAc "SELECT count(*) FROM weft_workflow WHERE uid = '$uid'")" = 1 ]; do
      sleep 0.05
    done
    s=$(small)
    left=$(psql "$WEFT_DATABASE_URL" -tAc "SELECT remaining FROM weft_workflow WHERE uid = '$uid'")
    "$weft" wait "$uid" --timeout 900 > /dev/null
    echo "round $r: small behind $big ($kind): $s s, $left of the fan-out still to run then"
  done
done
