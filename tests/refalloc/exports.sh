#!/bin/sh
# liballocheck-ref.so ($1) exports exactly the 13 entry points, nothing else (TAP). $2 is nm.
want="aligned_alloc calloc free free_aligned_sized free_sized malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"
got=$("${2:-nm}" -D --defined-only "$1" | awk '$2 ~ /^[TWVDBiu]$/ { print $3 }' | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$got" = "$want" ]; then
    echo "ok 1 - exports exactly the 13 entry points"
else
    echo "not ok 1 - exports exactly the 13 entry points"
    echo "# got: $got"
    echo "1..1"
    exit 1
fi
echo "1..1"
