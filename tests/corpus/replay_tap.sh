#!/bin/sh
# One corpus file replayed against the reference allocator, as TAP: usage ALLOCHECK FILE.
out=$("$1" replay -a reference "$2" 2>&1)
rc=$?
echo "1..1"
if [ "$rc" -eq 0 ]; then
    echo "ok 1 - $(basename "$2") replays clean on reference"
else
    echo "not ok 1 - $(basename "$2") exits $rc on reference"
    echo "$out" | sed 's/^/# /'
fi
