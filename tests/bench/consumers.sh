# Sourced by the bench's side scripts (fairness.sh, s3_downloads.sh, limit_overhead.sh): the
# three consumers of BUILD_DIR on the services of the environment, stopped (with whatever
# else was added to bench_pids) when the script exits.
#   bench_start BUILD_DIR [weft-activity ARGS...]   sets bench_activity to its pid
bench_pids=()
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${bench_work:-}" ] || rm -rf "$bench_work"
}
trap bench_cleanup EXIT
bench_start() {
  local build=$1; shift
  WEFT_LOG_LEVEL=${WEFT_LOG_LEVEL:-warn} "$build/entry/weft-entry" & bench_pids+=($!)
  WEFT_LOG_LEVEL=${WEFT_LOG_LEVEL:-warn} "$build/handoff/weft-handoff" & bench_pids+=($!)
  WEFT_LOG_LEVEL=${WEFT_LOG_LEVEL:-warn} "$build/activity/weft-activity" "$@" &
  bench_activity=$!
  bench_pids+=($bench_activity)
  sleep 1
}
