#!/bin/sh
# The harden goal: the matrix of every case for the six allocators in <= 60 s at -j 2, with the
# default runs. usage: bench/harden_matrix.sh ALLOCHECK [OUT.md]
# Prints the wall time; an allocator that is not installed is left out.
set -eu
ac=${1:?usage: harden_matrix.sh ALLOCHECK [OUT.md]}
out=${2:-/tmp/harden-matrix.$$.md}
set -- -a reference -a system
# The shorthands name the libraries Meson found (src/load/alloc.c); each is used if it loads.
for name in jemalloc mimalloc tcmalloc scudo; do
    "$ac" allocators -a "$name" >/dev/null 2>&1 && set -- "$@" -a "$name"
done
start=$(date +%s.%N)
MALLOC_PERTURB_=0 "$ac" harden -j 2 "$@" -f markdown -o "$out"
end=$(date +%s.%N)
echo "harden matrix: $(echo "$end - $start" | bc) s, written to $out"
