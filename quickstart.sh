#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs one job:
#   ./quickstart.sh conform   the main job: conformance of the reference and system allocators
#   ./quickstart.sh test      the whole test suite
# Installs what is missing (as root, with apt-get), configures build/ with Meson, builds.
set -euo pipefail
cd "$(dirname "$0")"
job=${1:-conform}
BUILD=${BUILD:-build}

packages=(meson ninja-build gcc clang pkg-config python3 afl++ libclang-rt-14-dev cppcheck
          libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libtbbmalloc2 libdmalloc5 libtalloc-dev)

install_missing() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ]; then
        echo "quickstart: please install: ${missing[*]}" >&2
        exit 2
    fi
    echo "quickstart: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" >&2
    fi
    ninja -C "$BUILD" >&2
}

install_missing
build
case "$job" in
conform)
    exec "$BUILD/src/allocheck" conform -a reference -a system
    ;;
test)
    rc=0
    meson test -C "$BUILD" --print-errorlogs --num-processes "$(nproc)" || rc=$?
    python3 tests/summary.py "$BUILD/meson-logs/testlog.json"
    exit $rc
    ;;
*)
    echo "quickstart: unknown job '$job' (expected conform or test)" >&2
    exit 2
    ;;
esac
