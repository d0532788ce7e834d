#!/bin/sh
# allocheck profile's goals (never a pass/fail test: these are times on a shared machine):
# 1. wall time of `profile` for five allocators, full (goal <= 60 s) and --quick (<= 10 s);
# 2. the seeded first-fit walk (tests/bugs/coalesce.c, BUG_FIRST_FIT_WALK) against its clean
#    base: ns/op ratio per workload (goal: >= 5x on at least one);
# 3. the clean base against itself in one run (-a it twice): ns/op ratio per workload
#    (goal: within 10 %).
# Prints the figures and "goal met" or "goal missed" per line; exits 0 either way.
# usage: bench/profile.sh BUILD_DIR [RUNS]   (RUNS: speed runs per workload, default 5)
set -eu
B=$1
RUNS=${2:-5}
A=$B/src/allocheck
P=$B/tests/profile
TMP=$(mktemp -d /tmp/allocheck-profile-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FIVE="-a reference -a system -a jemalloc -a mimalloc -a tcmalloc"

wall() {   # wall seconds of a command, its output discarded
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    echo "$s $e" | awk '{ printf "%.1f", $2 - $1 }'
}
goal() {   # goal FIGURE OP LIMIT
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = op == "<=" ? v <= l : v >= l;
        print ok ? "goal met" : "goal missed" }'
}
t=$(wall "$A" profile $FIVE --reps "$RUNS" -o "$TMP/full.txt")
echo "profile, five allocators, full: $t s ($(goal "$t" "<=" 60))"
t=$(wall "$A" profile --quick $FIVE -o "$TMP/quick.txt")
echo "profile, five allocators, --quick: $t s ($(goal "$t" "<=" 10))"

ratios() {   # the second allocator's ns/op over the first's, per workload, and the extreme
    python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
a, b = ({w["name"]: w["ns_per_op"] for w in r["workloads"]} for r in doc["results"])
r = {n: b[n] / a[n] for n in a if a[n] > 0}
print("  " + ", ".join("%s %.2fx" % kv for kv in r.items()))
print(max(r.values()) if sys.argv[2] == "max" else max(abs(v - 1) for v in r.values()))
PY
}
"$A" profile --reps "$RUNS" -a "$P/bug_coalesce_none.so" -a "$P/bug_first_fit_walk.so" \
    --format json -o "$TMP/walk.json" || true
ratios "$TMP/walk.json" max >"$TMP/walk.txt"
m=$(tail -n 1 "$TMP/walk.txt")
echo "first-fit walk vs clean base, ns/op:"; head -n 1 "$TMP/walk.txt"
echo "  largest: $(printf '%.2f' "$m")x ($(goal "$m" ">=" 5))"
"$A" profile --reps "$RUNS" -a "$P/bug_coalesce_none.so" -a "$P/bug_coalesce_none.so" \
    --format json -o "$TMP/self.json" || true
ratios "$TMP/self.json" dev >"$TMP/self.txt"
d=$(tail -n 1 "$TMP/self.txt")
echo "clean base vs itself, ns/op:"; head -n 1 "$TMP/self.txt"
echo "  largest difference: $(awk -v d="$d" 'BEGIN { printf "%.1f", 100 * d }') % ($(goal "$d" "<=" 0.10))"
