#!/bin/sh
# End-to-end tests of the CLI skeleton and allocator loading: every SPEC form through
# `allocheck allocators`, every bad input as one line + exit 2 without a core dump, and the
# top-level --help/--version/--usage. TAP on stdout.
# usage: cli_loading.sh ALLOCHECK PLUGIN_DIR   (REFALLOC_SO and KNOWN_* in the environment)
set -u
. "$(dirname "$0")/../tap.sh"
AC=$1
DIR=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ulimit -c unlimited 2>/dev/null


# expect_bad DESCRIPTION NEEDLE ARGS...: exit 2, exactly one line on stderr containing NEEDLE,
# nothing on stdout, no core file.
expect_bad() {
    desc=$1 needle=$2
    shift 2
    "$AC" "$@" >out.txt 2>err.txt
    rc=$?
    lines=$(wc -l <err.txt)
    good=0
    [ "$rc" -eq 2 ] || good=1
    [ "$lines" -eq 1 ] || good=1
    grep -qF -- "$needle" err.txt || good=1
    [ ! -s out.txt ] || good=1
    ls core* >/dev/null 2>&1 && good=1
    tap_ok $good "$desc (exit $rc, $lines line(s): $(head -c 200 err.txt))"
}

expect_good() {
    desc=$1 needle=$2
    shift 2
    "$AC" "$@" >out.txt 2>err.txt
    rc=$?
    good=0
    [ "$rc" -eq 0 ] || good=1
    grep -qF -- "$needle" out.txt || good=1
    tap_ok $good "$desc (exit $rc)"
}

expect_good "--version names the tool" "allocheck" --version
expect_good "--help lists the commands" "allocators" --help
expect_good "--usage prints usage" "Usage" --usage
expect_good "allocators --help" "--allocator" allocators --help
expect_bad "no command" "no command" 
expect_bad "unknown command" "unknown command 'frobnicate'" frobnicate
expect_bad "unknown option" "unrecognized option" allocators --frobnicate
expect_bad "unknown format" "unknown format 'yaml'" allocators --format yaml

expect_good "reference loads" "malloc_usable_size   malloc_usable_size" allocators -a reference
expect_good "system loads" "glibc" allocators -a system
expect_good "standard names" "libtp_names.so" allocators -a "$DIR/libtp_names.so"
expect_good "prefix" "tp_malloc" allocators -a "$DIR/libtp_prefixed.so:prefix=tp_"
expect_good "descriptor" "test descriptor plugin" allocators -a "$DIR/libtp_descriptor.so"
expect_good "naive realloc plugin" "libtp_naive.so" allocators -a "$DIR/libtp_naive.so"
if [ "${SANITIZED:-0}" = 1 ]; then
    expect_bad "preload in a sanitized build is refused" "sanitized build" allocators -a "preload:$REFALLOC_SO"
else
    expect_good "preload runs under LD_PRELOAD" "(preloaded)" allocators -a "preload:$REFALLOC_SO"
    expect_good "preload of the reference has all 13" "functions: 13 of 14" allocators -a "preload:$REFALLOC_SO"
    expect_good "preload beside other allocators" "(preloaded)" allocators -a "preload:$REFALLOC_SO" -a system
    if [ -e "$KNOWN_JEMALLOC" ]; then
        expect_good "preload of a shorthand" "libjemalloc.so.2 (preloaded)" allocators -a preload:jemalloc
    fi
    expect_bad "preload of a non-allocator" "not an allocator" allocators -a "preload:$KNOWN_LIBZ"
    # A -z nodlopen library cannot be dlopen'ed; preload: must never try.
    expect_bad "a -z nodlopen plugin cannot be dlopen'ed" "cannot be dlopen()ed" allocators -a "$DIR/libtp_nodlopen.so"
    expect_good "a -z nodlopen plugin loads under preload:" "functions: " allocators -a "preload:$DIR/libtp_nodlopen.so"
    expect_good "a -z nodlopen plugin is checked under preload:" "0 failed" \
        conform -a "preload:$DIR/libtp_nodlopen.so" --only "malloc-*,free-*"
    "$AC" conform -a "preload:$DIR/libtp_nodlopen.so" --only "malloc-align" --format tap \
        -o conform.txt >/dev/null 2>&1
    grep -qx "ok 1 - preload:$DIR/libtp_nodlopen.so: malloc-align" conform.txt
    tap_ok $? "the -z nodlopen plugin passes a check it ran"
fi
expect_good "several allocators" "libtp_names.so" allocators -a reference -a "$DIR/libtp_names.so"

"$AC" allocators --format json -a reference -a system -a "$DIR/libtp_descriptor.so" >out.json 2>err.txt
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
a = d["allocators"]
assert [x["kind"] for x in a] == ["reference", "system", "descriptor"], a
assert a[0]["functions"]["free_aligned_sized"] == "free_aligned_sized"
assert a[2]["functions"]["posix_memalign"] is None
assert len(a[0]["functions"]) == 14
' out.json
tap_ok $? "allocators --format json parses and reports every function"

"$AC" list --format json -a system -a "$DIR/libtp_descriptor.so" >list.json 2>err.txt
python3 -c '
import json, sys
checks = json.load(open(sys.argv[1]))
by_id = {c["id"]: c for c in checks}
assert by_id["free-sized-malloc"]["skipped"]["system"] == "no free_sized", by_id["free-sized-malloc"]
assert "no posix_memalign" in by_id["posix-memalign-align"]["skipped"][sys.argv[2]]
assert "skipped" not in by_id["malloc-align"]
assert any("fork" in c["id"] and "fork-safe" in c.get("skipped", {}).get(sys.argv[2], "") for c in checks)
' list.json "$DIR/libtp_descriptor.so"
tap_ok $? "list -a says which checks each allocator would skip, and why"
expect_bad "list with a bad allocator" "No such file" list -a /nonexistent/y.so

"$AC" generate -n 2000 -a "$DIR/libtp_names.so" -o gen.trace 2>err.txt
ops=$(awk '!/^#/ { print $1 }' gen.trace | sort -u | tr '\n' ' ')
[ "$ops" = "aligned_alloc calloc free malloc realloc usable " ]
tap_ok $? "generate -a uses only the functions the allocator provides (got: $ops)"

expect_bad "missing file" "/nonexistent/x.so: No such file or directory" allocators -a /nonexistent/x.so
expect_bad "not a shared object" "not a shared library" allocators -a "$DIR/not_a_library.txt"
expect_bad "library without malloc/free" "not an allocator" allocators -a "$KNOWN_LIBZ"
expect_bad "wrong prefix" "no symbol 'zz_malloc'" allocators -a "$DIR/libtp_prefixed.so:prefix=zz_"
expect_bad "malformed spec option" "unknown option 'size=3'" allocators -a "$DIR/libtp_names.so:size=3"
expect_good "SPEC declarations are shown" "declares:  heap=262144,min-align=4,max-align=4096,no-errno,delayed-reuse" \
    allocators -a "$DIR/libtp_names.so:heap=256K,min-align=4,max-align=4K,no-errno,delayed-reuse"
expect_good "a descriptor's declarations are shown" "declares:  " allocators -a "$DIR/libtp_descriptor.so"
expect_good "declarations after a prefix" "declares:  not-thread-safe" \
    allocators -a "$DIR/libtp_prefixed.so:prefix=tp_,not-thread-safe"
expect_good "declarations on a shorthand" "declares:  no-errno" allocators -a reference:no-errno
expect_bad "max-align not a power of two" "'max-align=3000': expected a power of two" \
    allocators -a "$DIR/libtp_names.so:max-align=3000"
expect_bad "heap size not a size" "'heap=lots': expected a size" allocators -a "$DIR/libtp_names.so:heap=lots"
expect_bad "unknown declaration after a known one" "unknown option 'fast'" \
    allocators -a "$DIR/libtp_names.so:no-errno,fast"
expect_bad "empty prefix" "prefix must be" allocators -a "$DIR/libtp_names.so:prefix="
expect_bad "bad prefix characters" "not a C identifier" allocators -a "$DIR/libtp_names.so:prefix=a-b"
expect_bad "empty spec" "empty allocator spec" allocators -a ""
expect_bad "unknown bare name" "unknown allocator" allocators -a jemallocc
expect_bad "constructor crashes" "crashed while loading (SIGSEGV)" allocators -a "$DIR/libtp_crash_ctor.so"
expect_bad "constructor aborts" "bad_ctor: refusing to start" allocators -a "$DIR/libtp_abort_ctor.so"

for lib in "$KNOWN_JEMALLOC" "$KNOWN_MIMALLOC" \
           "$KNOWN_TCMALLOC" \
           "$KNOWN_SCUDO"; do
    if [ -e "$lib" ]; then
        expect_good "loads $(basename "$lib")" "malloc               malloc" allocators -a "$lib"
    else
        tap_pass "# SKIP $lib not installed"
    fi
done
if [ -e "$KNOWN_JEMALLOC" ] && [ "${SANITIZED:-0}" != 1 ]; then
    # jemalloc has no pvalloc: under LD_PRELOAD the C library's would be found, and its blocks
    # would reach jemalloc's free. Only what the preloaded library defines may count.
    "$AC" allocators -a "preload:$KNOWN_JEMALLOC" >out.txt 2>err.txt
    grep -q "pvalloc              -" out.txt && grep -q "functions: 9 of 14" out.txt
    tap_ok $? "preload: counts only the functions the preloaded library defines"
fi
if [ -e "$KNOWN_MIMALLOC" ]; then
    expect_good "mimalloc with prefix" "mi_free_size" allocators -a "$KNOWN_MIMALLOC:prefix=mi_"
    expect_good "well-known names" "libjemalloc.so.2" allocators -a jemalloc -a mimalloc -a tcmalloc -a scudo
fi
tap_done
