#!/bin/sh
# liballocheck-ref.so ($1) exports exactly the 13 entry points, nothing else (TAP). $2 is nm.
. "$(dirname "$0")/../tap.sh"
want="aligned_alloc calloc free free_aligned_sized free_sized malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"
got=$("${2:-nm}" -D --defined-only "$1" | awk '$2 ~ /^[TWVDBiu]$/ { print $3 }' | sort | tr '\n' ' ' | sed 's/ $//')
tap_check "$got" "$want" "exports exactly the 13 entry points"
tap_done
