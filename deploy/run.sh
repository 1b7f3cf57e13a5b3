#!/usr/bin/env bash
# deploy/run.sh [DEFINITION.json] [INPUTS_JSON] - weft's main job on a fresh Debian
# machine: install what is missing, build, start RabbitMQ, Redis and Postgres on loopback,
# start the three consumers, submit a workflow (default: the example), wait for it and
# print its output. Everything is stopped at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

definition=${1:-deploy/examples/hello.json}
inputs=${2:-'{"who": "world"}'}

deploy/setup.sh build
deploy/services.sh start
eval "$(deploy/services.sh env)"
state=$WEFT_STATE_DIR
export WEFT_DATA_DIR=${WEFT_DATA_DIR:-$state/data}
mkdir -p "$WEFT_DATA_DIR"

pids=()
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "run.sh: consumers (pids ${pids[*]}) and services keep running;" \
             "stop with: kill ${pids[*]}; deploy/services.sh stop" >&2
        return
    fi
    [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    deploy/services.sh stop || true
}
trap cleanup EXIT

for bin in entry/weft-entry activity/weft-activity handoff/weft-handoff; do
    name=$(basename "$bin")
    "$repo/build/$bin" >> "$state/$name.log" 2>&1 &
    pids+=($!)
    echo "run.sh: started $name (pid $!, log $state/$name.log)" >&2
done

echo "run.sh: submitting $definition" >&2
uid=$(build/entry/weft submit "$definition" --inputs "$inputs" | tail -n 1)
echo "run.sh: workflow $uid" >&2
build/entry/weft wait "$uid" --timeout 120
build/entry/weft status "$uid" >&2
