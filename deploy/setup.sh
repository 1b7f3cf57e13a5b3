#!/usr/bin/env bash
# deploy/setup.sh [BUILD_DIR] [MESON_OPTIONS...] - install what building and testing weft
# need (Debian packages, only those missing) and build it with meson into BUILD_DIR
# (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PACKAGES=(gcc pkg-config meson ninja-build librabbitmq-dev libhiredis-dev
                libjansson-dev libpq-dev libcurl4-openssl-dev libssl-dev libcriterion-dev
                libmicrohttpd-dev)
# what tests/deploy/test_deploy_files.py checks the deploy files with
CHECK_PACKAGES=(python3 python3-yaml systemd docker-compose shellcheck binutils)
# what tests/integration/test_ops_cli.c drives: dot (weft graph), script (weft watch in a pty)
CHECK_PACKAGES+=(graphviz bsdutils)
# the metrics test's parser (Prometheus' own) and the dashboard test's browser
TEST_PACKAGES=(python3-prometheus-client chromium)

missing=()
# node and npm drive the dashboard test (tests/browser); a node that came with its own npm
# (not Debian's packages) is kept
command -v npm >/dev/null || TEST_PACKAGES+=(nodejs npm)
for p in "${BUILD_PACKAGES[@]}" "${CHECK_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}" >&2
    [ "$(id -u)" = 0 ] || { echo "setup.sh: need root to apt-get install ${missing[*]}" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# playwright-core at the version of tests/browser/package-lock.json (it drives
# /usr/bin/chromium and downloads no browser)
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    npm ci --prefix tests/browser --no-audit --no-fund >&2
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$@" >&2
fi
ninja -C "$build" >&2

# The s3 integration test's server: moto (it checks SigV4 signatures), for the python3 the
# tests run it with. Not needed to build or run weft, so only said, loudly, when missing.
s3_python=${WEFT_TEST_S3_PYTHON:-python3}
if ! "$s3_python" -c 'import moto.server, boto3' 2>/dev/null; then
    echo "setup.sh: WARNING: '$s3_python' has no moto/boto3: the s3 integration test will" \
         "fail; install them with: $s3_python -m pip install 'moto[server]' boto3" >&2
fi
