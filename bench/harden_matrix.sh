#!/bin/sh
# The harden goal: the matrix of every case for the six allocators in <= 60 s at -j 2, with the
# default runs. usage: bench/harden_matrix.sh ALLOCHECK [OUT.md]
# Prints the wall time; an allocator that is not installed is left out.
set -eu
ac=${1:?usage: harden_matrix.sh ALLOCHECK [OUT.md]}
out=${2:-/tmp/harden-matrix.$$.md}
set -- -a reference -a system
# The shorthands name the Debian packages' libraries (src/alloc.c); each is used if present.
for pair in jemalloc:/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
            mimalloc:/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 \
            tcmalloc:/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
            scudo:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.scudo_standalone-x86_64.so; do
    [ -e "${pair#*:}" ] && set -- "$@" -a "${pair%%:*}"
done
start=$(date +%s.%N)
MALLOC_PERTURB_=0 "$ac" harden -j 2 "$@" -f markdown -o "$out"
end=$(date +%s.%N)
echo "harden matrix: $(echo "$end - $start" | bc) s, written to $out"
