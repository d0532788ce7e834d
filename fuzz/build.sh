#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: honours $CC, $CFLAGS, $LIB_FUZZING_ENGINE and $OUT.
# Writes $OUT/fuzz_ops and $OUT/fuzz_ops_st (single-threaded ops), $OUT/fuzz_trace (the trace
# parsers), their .dict and .options, and the seed corpus zips ($OUT/fuzz_ops_seed_corpus.zip, ...).
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WORK:-/tmp}/allocheck-oss-fuzz
# Sanitizer runtimes refuse RTLD_DEEPBIND (docs/ARCHITECTURE.md, Loading): tell the loader, and link with the
# same sanitizer flags the compiler got.
case "${CFLAGS:-}" in
*-fsanitize=address*|*-fsanitize=memory*|*-fsanitize=undefined*)
    export CFLAGS="$CFLAGS -DALLOCHECK_SANITIZED=1" ;;
esac
# Coverage from the reference allocator only (fuzz/coverage.allowlist; AFL++ builds read
# fuzz/afl.allowlist): the harness's fill/verify loops are not what the fuzzer should explore.
case "${CFLAGS:-}" in
*-fsanitize=fuzzer-no-link*|*-fsanitize-coverage=*)
    export CFLAGS="$CFLAGS -fsanitize-coverage-allowlist=$SRC_DIR/fuzz/coverage.allowlist" ;;
esac
export AFL_LLVM_ALLOWLIST="$SRC_DIR/fuzz/afl.allowlist"
export LDFLAGS="${LDFLAGS:-} ${CFLAGS:-}"
rm -rf "$BUILD"
meson setup "$BUILD" "$SRC_DIR" -Dfuzzing_engine=oss-fuzz -Dtests=false \
    -Dbuildtype=plain -Db_ndebug=false
ninja -C "$BUILD" fuzz/fuzz_ops fuzz/fuzz_ops_st fuzz/fuzz_trace
for t in fuzz_ops fuzz_ops_st; do
    cp "$BUILD/fuzz/$t" "$OUT/$t"
    cp "$SRC_DIR/fuzz/fuzz_ops.dict" "$OUT/$t.dict"
    sed "s/fuzz_ops.dict/$t.dict/" "$SRC_DIR/fuzz/fuzz_ops.options" >"$OUT/$t.options"
    rm -f "$OUT/${t}_seed_corpus.zip"
    zip -q -j "$OUT/${t}_seed_corpus.zip" "$SRC_DIR"/corpus/*.trace "$SRC_DIR"/corpus/*.bin
done
cp "$BUILD/fuzz/fuzz_trace" "$SRC_DIR/fuzz/fuzz_trace.dict" "$SRC_DIR/fuzz/fuzz_trace.options" "$OUT/"
rm -f "$OUT/fuzz_trace_seed_corpus.zip"
zip -q -j "$OUT/fuzz_trace_seed_corpus.zip" "$SRC_DIR"/corpus/*.trace "$SRC_DIR"/corpus/*.bin \
    "$SRC_DIR"/corpus/trace/*
