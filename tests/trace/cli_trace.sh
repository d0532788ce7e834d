#!/bin/sh
# CLI test of 'allocheck trace': text -> binary -> text keeps the ops, output files are
# written whole, and a malformed input exits 2 with one line naming the file and line (TAP).
# Usage: cli_trace.sh ALLOCHECK
set -u
. "$(dirname "$0")/../tap.sh"
exe=$1
dir=$(mktemp -d /tmp/cli-trace.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT

echo "TAP version 13"
cat > "$dir/in.txt" <<'TRACE'
# allocheck trace v1
malloc 3 48
calloc 4 10 24   # a comment
realloc 3 SIZE_MAX-16
aligned_alloc 5 256 2^20+1
posix_memalign 1023 64 PTRDIFF_MAX+1
memalign 6 0x40 12345
thread 7
usable 5
check
free_sized 4
free 3
TRACE
canon='# allocheck trace v1
malloc 3 48
calloc 4 10 24
realloc 3 SIZE_MAX-16
aligned_alloc 5 256 2^20+1
posix_memalign 1023 64 PTRDIFF_MAX+1
memalign 6 64 12345
thread 7
usable 5
check
free_sized 4
free 3'

"$exe" trace --to-binary "$dir/in.txt" -o "$dir/t.bin"
tap_check "$?" 0 "--to-binary exits 0"
magic=$(head -c 4 "$dir/t.bin" | od -An -c | tr -d ' ')
tap_check "$magic" '177ACT' "binary output starts with the magic"
"$exe" trace --to-text "$dir/t.bin" -o "$dir/t.txt"
tap_check "$?" 0 "--to-text exits 0"
tap_check "$(cat "$dir/t.txt")" "$canon" "text -> binary -> text gives the canonical ops"
tap_check "$("$exe" trace --to-text "$dir/in.txt")" "$canon" "--to-text to stdout"
"$exe" trace --to-binary "$dir/t.txt" -o - > "$dir/t2.bin"
if cmp -s "$dir/t.bin" "$dir/t2.bin"; then tap_pass "binary -> text -> binary is byte-identical"
else tap_fail "binary -> text -> binary is byte-identical"; fi
ls "$dir" | grep -q tmp && tap_fail "no temporary file left" || tap_pass "no temporary file left"

printf 'malloc 1 2\nfree 1\nmallocc 2 3\n' > "$dir/bad.txt"
err=$("$exe" trace --to-binary "$dir/bad.txt" -o "$dir/out.bin" 2>&1 >/dev/null)
tap_check "$?" 2 "malformed input exits 2"
tap_check "$err" "allocheck: $dir/bad.txt: line 3: unknown op 'mallocc'" "one line naming file and line"
[ -e "$dir/out.bin" ] && tap_fail "no output on error" || tap_pass "no output on error"
err=$("$exe" trace --to-text "$dir/missing.txt" 2>&1 >/dev/null)
tap_check "$?" 2 "missing input exits 2"
tap_check "$err" "allocheck: $dir/missing.txt: No such file or directory" "missing file message"
"$exe" trace "$dir/in.txt" >/dev/null 2>&1
tap_check "$?" 2 "no direction is a usage error"
tap_done
