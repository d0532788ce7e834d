#!/bin/sh
# Wall time of `allocheck conform` (whole suite, default -j) against one allocator and against
# the five real allocators side by side: the median of RUNS runs each (default 5), in seconds.
# Goals (issue): one allocator <= 5 s, five side by side <= 30 s on 2 cores.
# Usage: bench/conform.sh [ALLOCHECK [RUNS]]
set -u
exe=${1:-build/src/allocheck}
runs=${2:-5}
five="-a system -a jemalloc -a mimalloc -a tcmalloc -a scudo"

# Prints the median wall time of running "$@" $runs times, or "error (exit N)".
median() {
    times=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        rc=$?
        t1=$(date +%s.%N)
        if [ "$rc" -ge 2 ]; then
            printf 'error (exit %s)' "$rc"
            return
        fi
        times="$times $(echo "$t1 - $t0" | bc -l)"
        i=$((i + 1))
    done
    printf '%s\n' $times | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'
}

echo "allocheck conform, median of $runs runs, $(nproc) CPUs"
printf 'reference alone:        %s s\n' "$(median "$exe" conform -a reference)"
printf 'system alone:           %s s\n' "$(median "$exe" conform -a system)"
# shellcheck disable=SC2086 # $five is a list of options on purpose
printf 'five real side by side: %s s\n' "$(median "$exe" conform $five)"
