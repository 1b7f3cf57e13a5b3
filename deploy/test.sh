#!/usr/bin/env bash
# deploy/test.sh - the whole test run on a fresh Debian machine: install what is missing,
# build (plain and with AddressSanitizer/UBSan), start RabbitMQ, Redis and Postgres on
# loopback, run every test in both builds, stop the services. Ends with the line
# "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh build
deploy/setup.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false

deploy/services.sh start
trap 'deploy/services.sh stop || true' EXIT
eval "$(deploy/services.sh env)"

passed=0
failed=0
status=0
for build in build build-asan; do
    log="$build/meson-logs/testlog.txt"
    echo "== tests in $build" >&2
    # the sanitizer build runs the unit and integration suites; the fault suite and the
    # benchmark smoke run once, on the plain build
    suites=()
    [ "$build" = build ] || suites=(--suite unit --suite integration)
    if ! meson test -C "$build" "${suites[@]}" --print-errorlogs --num-processes 2 ${WEFT_TEST_ARGS:-} \
            > "$build/test-output.txt" 2>&1; then
        status=1
    fi
    grep -E '^ *[0-9]+/[0-9]+ ' "$build/test-output.txt" || true
    ok=$(awk '/^Ok:/ {print $2}' "$build/test-output.txt")
    bad=0
    for k in Fail: "Unexpected Pass:" Timeout:; do
        n=$(grep -E "^$k" "$build/test-output.txt" | awk '{print $NF}')
        bad=$((bad + ${n:-0}))
    done
    if [ -z "$ok" ]; then
        echo "no test summary in $build: see $build/test-output.txt" >&2
        tail -50 "$build/test-output.txt" >&2
        status=1
        bad=$((bad + 1))
    fi
    [ "$bad" = 0 ] || sed -n '/Summary of Failures/,$p' "$build/test-output.txt" >&2
    [ "$bad" = 0 ] || grep -B2 -A20 -E "Assertion Failed|FAIL|ERROR" "$log" | head -200 >&2 || true
    passed=$((passed + ${ok:-0}))
    failed=$((failed + bad))
done
# stop the services first: the summary must be the last line printed
deploy/services.sh stop >&2 || true
trap - EXIT
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
