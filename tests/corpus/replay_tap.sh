#!/bin/sh
# One corpus file replayed against the reference allocator, as TAP: usage ALLOCHECK FILE.
. "$(dirname "$0")/../tap.sh"
out=$("$1" replay -a reference "$2" 2>&1)
rc=$?
tap_ok $rc "$(basename "$2") replays clean on reference" || tap_diag "exit $rc" "$out"
tap_done
