#!/bin/sh
# The built-in fuzzer's own rate (never a pass/fail test): `allocheck fuzz` of one allocator
# for SECONDS per run, ops per second of wall time and CPU microseconds per op (the fuzzing
# child and everything it forked), median of RUNS runs per build. Side by side: ALLOCHECK may
# be a comma-separated list (a build of the old and of the new tree); runs of the entries
# alternate, so a busy machine slows them alike. The CPU figure holds still while wall rates
# move with the machine's load.
# usage: bench/fuzz_rate.sh ALLOCHECK[,ALLOCHECK...] [RUNS] [SECONDS]
# env: FUZZ_RATE_ALLOC (reference), FUZZ_RATE_THREADS (2, the default for thread-safe
#      allocators: every fork then has busy threads), FUZZ_RATE_SEED (1; run i uses seed + i).
set -eu
EXES=$1
RUNS=${2:-5}
SECS=${3:-10}
ALLOC=${FUZZ_RATE_ALLOC:-reference}
THREADS=${FUZZ_RATE_THREADS:-2}
SEED=${FUZZ_RATE_SEED:-1}
TMP=$(mktemp -d /tmp/allocheck-fuzz-rate.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One run: prints "OPS_PER_S CPU_US_PER_OP".
one_run() {
    rm -rf "$TMP/out"
    /usr/bin/time -f "%U %S" -o "$TMP/cpu" "$1" fuzz -a "$ALLOC" --seed "$2" --time "$SECS" \
        --threads "$THREADS" --out "$TMP/out" >"$TMP/log" 2>&1 || true
    line=$(grep -E "sequences, [0-9]+ ops in" "$TMP/log" | tail -1)
    ops=$(echo "$line" | sed -E 's/.* ([0-9]+) ops in ([0-9.]+) s.*/\1/')
    wall=$(echo "$line" | sed -E 's/.* ([0-9]+) ops in ([0-9.]+) s.*/\2/')
    read -r user sys <"$TMP/cpu"
    echo "$ops $wall $user $sys" | awk '{ printf "%.0f %.2f\n", $1 / $2, ($3 + $4) * 1e6 / $1 }'
}

for i in $(seq 1 "$RUNS"); do
    for exe in $(echo "$EXES" | tr ',' ' '); do
        key=$(echo "$exe" | md5sum | cut -c1-8)
        one_run "$exe" $((SEED + i - 1)) >>"$TMP/$key"
    done
done
echo "allocheck fuzz -a $ALLOC --threads $THREADS --time $SECS, median of $RUNS runs (seeds $SEED..):"
for exe in $(echo "$EXES" | tr ',' ' '); do
    key=$(echo "$exe" | md5sum | cut -c1-8)
    rate=$(cut -d' ' -f1 "$TMP/$key" | median)
    cpu=$(cut -d' ' -f2 "$TMP/$key" | median)
    echo "  $exe: $rate ops/s, $cpu CPU us/op   (runs: $(cut -d' ' -f1 "$TMP/$key" | tr '\n' ' ')ops/s;" \
        "$(cut -d' ' -f2 "$TMP/$key" | tr '\n' ' ')us/op)"
done
