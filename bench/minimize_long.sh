#!/bin/sh
# Minimizing a finding that needs a long history: `allocheck fuzz` against a seeded bug whose
# arena fills after about a million ops (tests/bugs/base.c BUG_ALIGNED_ARENA with 900 cells:
# small over-aligned blocks whose cells free never takes back), one run per seed 1..RUNS
# (default 5). Prints each run and the medians of: ops in the found trace, the frees in it,
# ops after minimization, minimization seconds (fuzz's default budget: 60 s), and the ops
# `allocheck minimize --time 10` leaves of the same found trace.
# Goal (issue): a >= 1 M-op found trace minimizes to <= 1,000 ops or <= 1 % of its ops in
# <= 60 s on this machine. Never a pass/fail test.
# Usage: bench/minimize_long.sh ALLOCHECK BENCH_ALIGNED_ARENA.so [RUNS [WORKDIR]]
set -u
exe=${1:?ALLOCHECK}
so=${2:?the 900-cell aligned-arena plugin (build/bench/bench_aligned_arena.so)}
runs=${3:-5}
work=${4:-$(mktemp -d /tmp/allocheck-minlong-XXXXXX)}
rows="$work/rows"
: > "$rows"

seed=1
while [ "$seed" -le "$runs" ]; do
    dir="$work/seed$seed"
    rm -rf "$dir"
    "$exe" fuzz -a "$so" --seed "$seed" --out "$dir" > "$work/out$seed" 2>&1
    line=$(grep -m1 'minimized from' "$work/out$seed")
    trace=$(ls "$dir"/*.trace 2>/dev/null | grep -v '\.min\.trace$' | head -n 1)
    if [ -z "$line" ] || [ -z "$trace" ]; then
        echo "seed $seed: no minimized finding; output in $work/out$seed"
        seed=$((seed + 1))
        continue
    fi
    frees=$(grep -c '^free' "$trace")
    # How far the same trace gets in 10 s, as `allocheck minimize` (the cuts come first).
    "$exe" minimize -a "$so" "$trace" -o "$work/ten$seed.trace" --time 10 > /dev/null 2>&1
    ten=$(grep -cv '^#' "$work/ten$seed.trace" 2>/dev/null || echo -)
    # "... minimized from A to B ops in C s ..."
    echo "$line" | awk -v s="$seed" -v f="$frees" -v ten="$ten" '{
        for (i = 1; i <= NF; i++) {
            if ($i == "from") a = $(i + 1)
            if ($i == "to") b = $(i + 1)
            if ($i == "in" && $(i + 2) ~ /^s/) c = $(i + 1)
        }
        printf "seed %s: found trace %s ops (%s frees), minimized to %s ops (%.2f%%) in %s s;" \
            " minimize --time 10: %s ops\n", s, a, f, b, 100 * b / a, c, ten
        print a, f, b, c, ten > "/dev/stderr"
    }' 2>> "$rows"
    seed=$((seed + 1))
done

median() {
    cut -d' ' -f"$1" "$rows" | sort -n | awk '{ v[NR] = $1 } END {
        if (NR) printf "%s", v[int((NR + 1) / 2)]; else printf "-" }'
}
echo "median of $(wc -l < "$rows") runs: found trace $(median 1) ops ($(median 2) frees)," \
     "minimized to $(median 3) ops in $(median 4) s; minimize --time 10: $(median 5) ops"
