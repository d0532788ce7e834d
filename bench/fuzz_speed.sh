#!/bin/sh
# Fuzzing speed figures (never a pass/fail test):
# 1. checked replay (--check=full) vs --check=none of one generated 2-million-op trace
#    (generate's default size mix), per allocator (system, jemalloc), median of RUNS runs
#    each, and the ratio (goal <= 3x);
# 2. libFuzzer and AFL++ execs/s on 64-op inputs (the stress mix: the fuzzer's sizes) against
#    the reference allocator (goal >= 15000), fuzz_ops and fuzz_ops_st, each a campaign of
#    FUZZ_SPEED_AFL_SECONDS from the same 64 seeds, median of RUNS runs, when fuzz/ci.sh has
#    built them in FUZZ_CI_DIR;
# 3. the targets' own CPU cost per input (bench/fuzz_cost, no engine), median of RUNS runs,
#    for each ALLOCHECK whose build directory has it: the figure that holds still while
#    campaign rates move with the machine's load.
# Side by side: ALLOCHECK and FUZZ_CI_DIR may each be a comma-separated list (e.g. a build of
# the old and of the new tree); runs of the entries alternate, so a busy machine slows them
# alike, and each entry gets its own line.
# usage: bench/fuzz_speed.sh ALLOCHECK[,ALLOCHECK...] [FUZZ_CI_DIR[,DIR...]] [RUNS]
# env: FUZZ_SPEED_OPS (2000000), FUZZ_SPEED_MAX_SIZE (generate's --max-size; default: none,
#      generate's realistic mix), FUZZ_SPEED_AFL_SECONDS (20 per libFuzzer or AFL++ run),
#      FUZZ_SPEED_ALLOCS (the replay allocators), FUZZ_SPEED_SKIP (replay, fuzzers or cost).
set -eu
EXES=$1
CIS=${2:-}
RUNS=${3:-5}
OPS=${FUZZ_SPEED_OPS:-2000000}
AFL_SECONDS=${FUZZ_SPEED_AFL_SECONDS:-20}
ALLOCS=${FUZZ_SPEED_ALLOCS:-system jemalloc}
SKIP=${FUZZ_SPEED_SKIP:-}
TMP=$(mktemp -d /tmp/allocheck-fuzz-speed.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
list() { echo "$1" | tr ',' ' '; }

# Seconds (wall) of one replay: EXE SPEC CHECK TRACE.
replay_time() {
    start=$(date +%s.%N)
    "$1" replay -a "$2" --check="$3" --ignore-errno "$4" >"$TMP/replay.out" ||
        { cat "$TMP/replay.out" >&2; echo 0; return; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

# The workload leaves out valloc/pvalloc and zero-size aligned requests: jemalloc's valloc(0)
# and memalign(A, 0) are not aligned (real findings), and a replay stops at its first
# finding, which would end the timing early. Likewise aligned_alloc with an alignment that is
# not a power of two, which glibc 2.36 accepts (C17 with DR 460 says it must fail).
POW2_ALIGNED_ONLY='
$1 != "aligned_alloc" { print; next }
$3 ~ /^2\^[0-9]+$/ { print; next }
$3 ~ /^[0-9]+$/ { n = $3 + 0; while (n > 1 && n % 2 == 0) n /= 2; if (n == 1) print }'

replay_figures() {
    n=0
    for exe in $(list "$EXES"); do
        n=$((n + 1))
        "$exe" generate --seed 1 --ops "$OPS" \
            ${FUZZ_SPEED_MAX_SIZE:+--max-size "$FUZZ_SPEED_MAX_SIZE"} -o "$TMP/all.trace"
        grep -v -E '^(valloc|pvalloc) |^(memalign|aligned_alloc|posix_memalign) [0-9]+ [^ ]+ 0$' \
            "$TMP/all.trace" | awk "$POW2_ALIGNED_ONLY" >"$TMP/w$n.trace"
    done
    echo "checked replay of a $OPS-op generated trace (wall seconds), median of $RUNS runs:"
    for spec in $ALLOCS; do
        for i in $(seq "$RUNS"); do
            n=0
            for exe in $(list "$EXES"); do
                n=$((n + 1))
                replay_time "$exe" "$spec" none "$TMP/w$n.trace" >>"$TMP/none$n"
                replay_time "$exe" "$spec" full "$TMP/w$n.trace" >>"$TMP/full$n"
            done
        done
        n=0
        for exe in $(list "$EXES"); do
            n=$((n + 1))
            none=$(median <"$TMP/none$n") full=$(median <"$TMP/full$n")
            rm -f "$TMP/none$n" "$TMP/full$n"
            echo "  $exe $spec: none ${none}s, full ${full}s," \
                 "ratio $(echo "scale=2; $full / $none" | bc)x"
        done
    done
}

# One libFuzzer run's execs/s: TARGET INPUTS MAXLEN. A campaign of AFL_SECONDS, as AFL++ runs
# (a 100000-run burst from the seeds measures mostly the first minutes' corpus growth: new
# inputs written to disk at every step); runs divided by the wall time of the whole process.
libfuzzer_rate() {
    rm -rf "$TMP/lf" && mkdir -p "$TMP/lf" && cp "$2"/* "$TMP/lf/"
    start=$(date +%s.%N)
    "$1" -max_total_time="$AFL_SECONDS" -max_len="$3" -seed=1 "$TMP/lf" >"$TMP/lf.log" 2>&1 ||
        return 0
    end=$(date +%s.%N)
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$TMP/lf.log")
    [ -n "$runs" ] && echo "$runs / ($end - $start)" | bc
}

# One AFL++ run's execs/s: TARGET INPUTS MAXLEN. A fixed seed (-s 1): without it the spread
# between runs of the same build was larger than the change being measured (11.6k-16.5k).
afl_rate() {
    rm -rf "$TMP/afl"
    AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
        afl-fuzz -s 1 -V "$AFL_SECONDS" -G "$3" -i "$2" -o "$TMP/afl" -- "$1" >/dev/null 2>&1 || true
    sed -n 's/^execs_per_sec *: *//p' "$TMP/afl/default/fuzzer_stats" 2>/dev/null
}

# Both variants: fuzz_ops (with `thread` ops) and fuzz_ops_st (single-threaded ops).
VARIANTS="fuzz_ops fuzz_ops_st"

fuzzer_figures() {
    INPUTS=$TMP/inputs
    mkdir -p "$INPUTS"
    first=$(list "$EXES" | awk '{ print $1 }')
    for seed in $(seq 1 64); do
        "$first" generate --seed "$seed" --ops 64 --binary --max-size 4194304 \
            -o "$INPUTS/s$seed.bin"
    done
    MAXLEN=$(wc -c "$INPUTS"/*.bin | sort -n | tail -2 | head -1 | awk '{ print $1 }')
    if [ -z "$CIS" ]; then
        echo "libFuzzer, AFL++: not built (run fuzz/ci.sh DIR and pass DIR)"
        return
    fi
    for i in $(seq "$RUNS"); do
        n=0
        for ci in $(list "$CIS"); do
            n=$((n + 1))
            for v in $VARIANTS; do
                lf=$ci/libfuzzer/fuzz/$v afl=$ci/afl/fuzz/$v
                [ -x "$lf" ] && libfuzzer_rate "$lf" "$INPUTS" "$MAXLEN" >>"$TMP/lf$n$v"
                [ -x "$afl" ] && afl_rate "$afl" "$INPUTS" "$MAXLEN" >>"$TMP/afl$n$v"
            done
        done
    done
    echo "fuzz targets on 64-op inputs (max_len $MAXLEN) against reference, median of $RUNS:"
    n=0
    for ci in $(list "$CIS"); do
        n=$((n + 1))
        for v in $VARIANTS; do
            lf=$(median <"$TMP/lf$n$v" 2>/dev/null || true)
            afl=$(median <"$TMP/afl$n$v" 2>/dev/null || true)
            echo "  $ci $v: libFuzzer ${lf:-?} execs/s, AFL++ ${afl:-?} execs/s"
        done
    done
}

# fuzz_cost of each build (BUILD/bench/fuzz_cost{,_st} beside BUILD/src/allocheck).
cost_figures() {
    for i in $(seq "$RUNS"); do
        n=0
        for exe in $(list "$EXES"); do
            n=$((n + 1))
            for v in fuzz_cost fuzz_cost_st; do
                c=$(dirname "$(dirname "$exe")")/bench/$v
                if [ -x "$c" ]; then
                    "$c" | sed -n 's/.*median \([0-9.]*\) us.*/\1/p' >>"$TMP/c$n$v"
                fi
            done
        done
    done
    echo "fuzz target cost per 64-op input (bench/fuzz_cost, CPU us), median of $RUNS:"
    n=0
    for exe in $(list "$EXES"); do
        n=$((n + 1))
        for v in fuzz_cost fuzz_cost_st; do
            if [ -s "$TMP/c$n$v" ]; then
                echo "  $exe $v: $(median <"$TMP/c$n$v") us"
            fi
        done
    done
}

[ "$SKIP" = replay ] || replay_figures
[ "$SKIP" = fuzzers ] || fuzzer_figures
[ "$SKIP" = cost ] || cost_figures
