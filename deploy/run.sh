#!/usr/bin/env bash
# deploy/run.sh [--tasks TASKS.json] [--define DEF.json]... [DEFINITION.json]
#               [INPUTS_JSON|@INPUTS.json] - weft's main job on a fresh Debian machine:
# install what is missing, build, start RabbitMQ, Redis and Postgres on loopback, start the
# three consumers (given the task file, when named), store the named definitions a workflow
# uses as children (--define), submit a workflow, wait for it and print its output.
# Without arguments it runs the file pipeline example (fetch → load → replace → summary)
# against a small HTTP server it starts on 127.0.0.1. Everything is stopped at the end
# unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "${1:-}" = --tasks ]; then
    [ -f "${2:-}" ] || { echo "run.sh: --tasks needs a task file, got '${2:-}'" >&2; exit 2; }
    WEFT_TASKS_FILE=$(realpath "$2")
    export WEFT_TASKS_FILE
    shift 2
fi
defines=()
while [ "${1:-}" = --define ]; do
    [ -f "${2:-}" ] || { echo "run.sh: --define needs a definition file, got '${2:-}'" >&2; exit 2; }
    defines+=("$(realpath "$2")")
    shift 2
done
definition=${1:-deploy/examples/file_pipeline.json}
inputs=${2:-}

deploy/setup.sh build
deploy/services.sh start
eval "$(deploy/services.sh env)"
state=$WEFT_STATE_DIR
export WEFT_DATA_DIR=${WEFT_DATA_DIR:-$state/data}
mkdir -p "$WEFT_DATA_DIR"

pids=()
cleanup() {
    [ -z "${http_pid:-}" ] || kill "$http_pid" 2>/dev/null || true
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

if [ -z "$inputs" ]; then
    # the example's input file, served over HTTP on a free loopback port
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory deploy/examples/site \
        > "$state/http.log" 2>&1 &
    http_pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    inputs="{\"url\": \"http://127.0.0.1:$port/in.txt\"}"
fi

for d in ${defines[@]+"${defines[@]}"}; do
    echo "run.sh: stored definition $(build/entry/weft define "$d")" >&2
done
echo "run.sh: submitting $definition with inputs $inputs" >&2
uid=$(build/entry/weft submit "$definition" --inputs "$inputs" | tail -n 1)
echo "run.sh: workflow $uid" >&2
build/entry/weft wait "$uid" --timeout 120
build/entry/weft status "$uid" >&2
