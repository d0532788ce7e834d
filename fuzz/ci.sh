#!/bin/sh
# Builds fuzz_ops for libFuzzer (clang) and for AFL++ (afl-clang-fast), each in its own build
# directory, and runs each briefly over the seed corpus; then fuzz_trace, the trace parsers'
# target, under libFuzzer with ASan+UBSan for FUZZ_TRACE_SECONDS (default 25). Fails if any
# fails to build, run, or finds a crash.
# usage: fuzz/ci.sh [WORKDIR]   (the lead's .ci/run calls it)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d /tmp/allocheck-fuzz-ci.XXXXXX)}
mkdir -p "$WORK"
echo "fuzz/ci.sh: building in $WORK"

# The seed corpus, copied: libFuzzer adds new inputs to its first corpus directory.
mkdir -p "$WORK/corpus"
cp "$SRC"/corpus/*.trace "$SRC"/corpus/*.bin "$WORK/corpus/"

# libFuzzer: -Dfuzzing_engine=libfuzzer alone gives an instrumented target (coverage of the
# reference allocator only, fuzz/coverage.allowlist, added by meson.build); no CFLAGS, so a
# target without coverage ("no interesting inputs were found") fails here.
CC=clang meson setup $( [ -d "$WORK/libfuzzer/meson-private" ] && echo --wipe ) "$WORK/libfuzzer" "$SRC" -Dfuzzing_engine=libfuzzer -Dtests=false \
    >"$WORK/libfuzzer-setup.log" 2>&1 || { cat "$WORK/libfuzzer-setup.log"; exit 1; }
ninja -C "$WORK/libfuzzer" fuzz/fuzz_ops fuzz/fuzz_ops_st
# Bounded in time as well as runs: an input full of busy forks costs a quarter of a second.
"$WORK/libfuzzer/fuzz/fuzz_ops" -runs=20000 -max_total_time="${FUZZ_OPS_SECONDS:-30}" \
    -max_len=4096 -seed=1 \
    -dict="$SRC/fuzz/fuzz_ops.dict" "$WORK/corpus" 2>"$WORK/libfuzzer-run.log" ||
    { tail -40 "$WORK/libfuzzer-run.log"; exit 1; }
grep -E "^(#[0-9]+ *DONE|Done)" "$WORK/libfuzzer-run.log" | tail -1
cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$WORK/libfuzzer-run.log" | tail -1)
[ "${cov:-0}" -gt 0 ] || { echo "libFuzzer reports no coverage (cov: ${cov:-none})"; tail -20 "$WORK/libfuzzer-run.log"; exit 1; }
echo "libFuzzer coverage: cov: $cov"

# AFL++: afl-clang-fast instruments the reference allocator only (fuzz/afl.allowlist, read at
# compile time) and links its libFuzzer-compatible driver.
export AFL_LLVM_ALLOWLIST="$SRC/fuzz/afl.allowlist"
CC=afl-clang-fast meson setup $( [ -d "$WORK/afl/meson-private" ] && echo --wipe ) "$WORK/afl" "$SRC" -Dfuzzing_engine=afl -Dtests=false \
    >"$WORK/afl-setup.log" 2>&1 || { cat "$WORK/afl-setup.log"; exit 1; }
ninja -C "$WORK/afl" fuzz/fuzz_ops fuzz/fuzz_ops_st
rm -rf "$WORK/afl-out"
# -t 1000+: a seed that times out (libFuzzer's corpus keeps inputs full of busy forks) is
# skipped in the dry run instead of aborting it.
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    afl-fuzz -V 10 -t 1000+ -i "$WORK/corpus" -o "$WORK/afl-out" -- "$WORK/afl/fuzz/fuzz_ops" \
    >"$WORK/afl-run.log" 2>&1 || { tail -40 "$WORK/afl-run.log"; exit 1; }
stats="$WORK/afl-out/default/fuzzer_stats"
execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null || echo 0)
crashes=$(sed -n 's/^saved_crashes *: *//p' "$stats" 2>/dev/null || echo 0)
echo "afl-fuzz: $execs execs, $crashes crashes"
[ "${execs:-0}" -gt 0 ] || { echo "afl-fuzz ran no inputs"; tail -40 "$WORK/afl-run.log"; exit 1; }
[ "${crashes:-0}" -eq 0 ] || { echo "afl-fuzz found crashes in $WORK/afl-out"; exit 1; }

# fuzz_trace: the parsers under ASan+UBSan (a UBSan report stops the run as a crash would).
# Its seeds are both corpora; its coverage is the trace files' (fuzz/meson.build).
mkdir -p "$WORK/trace-corpus"
cp "$SRC"/corpus/*.trace "$SRC"/corpus/*.bin "$SRC"/corpus/trace/* "$WORK/trace-corpus/"
CC=clang meson setup $( [ -d "$WORK/trace/meson-private" ] && echo --wipe ) "$WORK/trace" "$SRC" \
    -Dfuzzing_engine=libfuzzer -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false \
    >"$WORK/trace-setup.log" 2>&1 || { cat "$WORK/trace-setup.log"; exit 1; }
ninja -C "$WORK/trace" fuzz/fuzz_trace
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$WORK/trace/fuzz/fuzz_trace" \
    -max_total_time="${FUZZ_TRACE_SECONDS:-25}" -max_len=4096 -seed=1 \
    -dict="$SRC/fuzz/fuzz_trace.dict" "$WORK/trace-corpus" 2>"$WORK/trace-run.log" ||
    { tail -40 "$WORK/trace-run.log"; exit 1; }
grep -E "^(#[0-9]+ *DONE|Done)" "$WORK/trace-run.log" | tail -1
echo "fuzz/ci.sh: ok"
