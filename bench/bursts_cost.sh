#!/bin/sh
# What threads at once cost (never a pass/fail test): `allocheck fuzz -a ALLOC --threads T
# --runs N` under each schedule (bursts, turns), ops/s from the closing line, median of RUNS
# runs; the runs of the schedules alternate, so a busy machine slows them alike. With
# --threads 1 nothing runs at once, so both lines measure the same work.
# usage: bench/bursts_cost.sh ALLOCHECK [ALLOC] [THREADS] [SEQUENCES] [RUNS]
set -eu
EXE=$1
ALLOC=${2:-reference}
THREADS=${3:-2}
SEQS=${4:-2000}
RUNS=${5:-5}
TMP=$(mktemp -d /tmp/allocheck-bursts-cost.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() {
    sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for i in $(seq "$RUNS"); do
    for s in bursts turns; do
        "$EXE" fuzz -a "$ALLOC" --seed "$i" --threads "$THREADS" --runs "$SEQS" \
            --schedule="$s" --out "$TMP/out" 2>/dev/null \
            | sed -n 's/.* \([0-9]*\) ops in \([0-9.]*\) s.*/\1 \2/p' \
            | awk '{ printf "%.0f\n", $1 / $2 }' >>"$TMP/$s"
    done
done
for s in bursts turns; do
    echo "fuzz -a $ALLOC --threads $THREADS --runs $SEQS --schedule=$s: $(median <"$TMP/$s") ops/s" \
         "(median of $RUNS)"
done
