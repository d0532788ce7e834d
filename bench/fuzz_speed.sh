#!/bin/sh
# Fuzzing speed figures (never a pass/fail test):
# 1. checked replay (--check=full) vs --check=none of one generated 2-million-op trace, per
#    allocator (system, jemalloc), median of RUNS runs, and the ratio (goal <= 3x);
# 2. libFuzzer and AFL++ execs/s on 64-op inputs against the reference allocator (goal >=
#    15000), when fuzz/ci.sh has built them in FUZZ_CI_DIR.
# usage: bench/fuzz_speed.sh ALLOCHECK [FUZZ_CI_DIR] [RUNS]
set -eu
EXE=$1
CI=${2:-}
RUNS=${3:-5}
OPS=${FUZZ_SPEED_OPS:-2000000}
TMP=$(mktemp -d /tmp/allocheck-fuzz-speed.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Seconds (wall) of one replay.
replay_time() {
    start=$(date +%s.%N)
    "$EXE" replay -a "$1" --check="$2" --ignore-errno "$TRACE" >"$TMP/replay.out" ||
        { cat "$TMP/replay.out" >&2; echo 0; return; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

# The workload leaves out valloc/pvalloc and zero-size aligned requests: jemalloc's valloc(0)
# and memalign(A, 0) are not aligned (real findings), and a replay stops at its first
# finding, which would end the timing early.
TRACE=$TMP/workload.trace
# Sizes up to 64 KiB (most requests real programs make): the full check's cost is one fill and
# one verify per byte, so bigger blocks measure memory bandwidth, not per-op overhead.
"$EXE" generate --seed 1 --ops "$OPS" --max-size "${FUZZ_SPEED_MAX_SIZE:-65536}" \
    -o "$TMP/all.trace"
grep -v -E '^(valloc|pvalloc) |^(memalign|aligned_alloc|posix_memalign) [0-9]+ [^ ]+ 0$' \
    "$TMP/all.trace" >"$TRACE"
echo "checked replay of a $OPS-op generated trace, median of $RUNS runs:"
for spec in system /usr/lib/x86_64-linux-gnu/libjemalloc.so.2; do
    none=$(for i in $(seq "$RUNS"); do replay_time "$spec" none; done | median)
    full=$(for i in $(seq "$RUNS"); do replay_time "$spec" full; done | median)
    echo "  $spec: none ${none}s, full ${full}s, ratio $(echo "scale=2; $full / $none" | bc)x"
done

INPUTS=$TMP/inputs
mkdir -p "$INPUTS"
for seed in $(seq 1 64); do
    "$EXE" generate --seed "$seed" --ops 64 --binary -o "$INPUTS/s$seed.bin"
done
MAXLEN=$(wc -c "$INPUTS"/*.bin | sort -n | tail -2 | head -1 | awk '{ print $1 }')
LF=$CI/libfuzzer/fuzz/fuzz_ops
if [ -n "$CI" ] && [ -x "$LF" ]; then
    mkdir -p "$TMP/lf" && cp "$INPUTS"/* "$TMP/lf/"
    rate=$("$LF" -runs=100000 -max_len="$MAXLEN" -seed=1 "$TMP/lf" 2>&1 |
           sed -n 's/.*DONE.*exec\/s: \([0-9]*\).*/\1/p' | tail -1)
    echo "libFuzzer: ${rate:-?} execs/s on 64-op inputs (max_len $MAXLEN) against reference"
else
    echo "libFuzzer: not built (run fuzz/ci.sh DIR and pass DIR)"
fi
AFL=$CI/afl/fuzz/fuzz_ops
if [ -n "$CI" ] && [ -x "$AFL" ]; then
    AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
        afl-fuzz -V 30 -G "$MAXLEN" -i "$INPUTS" -o "$TMP/afl" -- "$AFL" >/dev/null 2>&1 || true
    rate=$(sed -n 's/^execs_per_sec *: *//p' "$TMP/afl/default/fuzzer_stats" 2>/dev/null)
    echo "AFL++: ${rate:-?} execs/s on 64-op inputs against reference"
else
    echo "AFL++: not built (run fuzz/ci.sh DIR and pass DIR)"
fi
