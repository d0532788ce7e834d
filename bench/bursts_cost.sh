#!/bin/sh
# What threads at once cost (never a pass/fail test): `allocheck fuzz -a ALLOC --threads T
# --runs N` under each schedule (bursts, turns, and the default: no --schedule, one sequence
# in 4 in bursts with 2 threads or more), ops/s from the closing line, median of RUNS runs;
# the runs of the schedules alternate, so a busy machine slows them alike. With --threads 1
# nothing runs at once, so all lines measure the same work.
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
    for s in bursts turns default; do
        opt=--schedule="$s"
        [ "$s" = default ] && opt=--threads="$THREADS"
        "$EXE" fuzz -a "$ALLOC" --seed "$i" --threads "$THREADS" --runs "$SEQS" \
            "$opt" --out "$TMP/out" 2>/dev/null \
            | sed -n 's/.* \([0-9]*\) ops in \([0-9.]*\) s.*/\1 \2/p' \
            | awk '{ printf "%.0f\n", $1 / $2 }' >>"$TMP/$s"
    done
done
for s in bursts turns default; do
    how=--schedule=$s
    [ "$s" = default ] && how="(default schedule)"
    echo "fuzz -a $ALLOC --threads $THREADS --runs $SEQS $how: $(median <"$TMP/$s") ops/s" \
         "(median of $RUNS)"
done
