# The `gpu` task of test_routing, run oneshot (one process per attempt): it answers for its
# attempt, failing the first one TRANSIENT when its params say "flaky", and reports the
# queue it was meant for so that nothing else could have answered.
read -r request
id="$WEFT_ACTIVITY_UID/$WEFT_ATTEMPT"
case "$request" in
*'"flaky":true'*)
    if [ "$WEFT_ATTEMPT" = 1 ]; then
        printf '{"id":"%s","status":"failure","error":{"code":"TRANSIENT_ERROR","message":"first attempt fails"}}\n' "$id"
        exit 0
    fi
    ;;
esac
printf '{"id":"%s","status":"success","data":{"rendered_on":"gpu"}}\n' "$id"
