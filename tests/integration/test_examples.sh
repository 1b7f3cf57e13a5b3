#!/usr/bin/env bash
# The examples under deploy/examples run as README says: the image pipeline's Python tasks
# (the SDK, its task file, its definition and inputs) in direct mode against the real
# Postgres, with the exact output its stand-ins compute, and a bad input failing the
# workflow with the task's own message. deploy/examples/image_pipeline/run.sh, which runs
# the same files through the three consumers, is deploy/run.sh with these arguments.
set -uo pipefail
: "${WEFT_BIN_WEFT:?set by meson}" "${WEFT_DATABASE_URL:?the test command sets the service URLs}"
dir="$(dirname "$0")/../../deploy/examples/image_pipeline"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

out=$("$WEFT_BIN_WEFT" run "$dir/image_pipeline.json" --tasks "$dir/tasks.json" \
      --inputs "@$dir/inputs.json" 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "image pipeline: exit $rc: $out"
got=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["filters"]["final_url"])' 2>&1)
want='https://example.com/image.jpg?w=800&h=600?filters=sharpen,contrast'
[ "$got" = "$want" ] || fail "image pipeline: final_url '$got', want '$want' (output: $out)"

out=$("$WEFT_BIN_WEFT" run "$dir/image_pipeline.json" --tasks "$dir/tasks.json" \
      --inputs '{"width": 640}' 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "image pipeline without url: exit $rc, want 1: $out"
case $out in
*"activity 'resize' failed: resize_image: url: needs 'url' (str), got None"*) ;;
*) fail "image pipeline without url: the error does not name the missing input: $out" ;;
esac

[ -x "$dir/run.sh" ] || fail "deploy/examples/image_pipeline/run.sh is not executable"
echo "examples: $failures failure(s)"
[ "$failures" = 0 ]
