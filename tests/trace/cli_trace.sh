#!/bin/sh
# CLI test of 'allocheck trace': text -> binary -> text keeps the ops, output files are
# written whole, and a malformed input exits 2 with one line naming the file and line (TAP).
# Usage: cli_trace.sh ALLOCHECK
set -u
exe=$1
dir=$(mktemp -d /tmp/cli-trace.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = "$2" ]; then ok "$3"; else nok "$3"; echo "# got '$1'"; echo "# want '$2'"; fi; }

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
check "$?" 0 "--to-binary exits 0"
magic=$(head -c 4 "$dir/t.bin" | od -An -c | tr -d ' ')
check "$magic" '177ACT' "binary output starts with the magic"
"$exe" trace --to-text "$dir/t.bin" -o "$dir/t.txt"
check "$?" 0 "--to-text exits 0"
check "$(cat "$dir/t.txt")" "$canon" "text -> binary -> text gives the canonical ops"
check "$("$exe" trace --to-text "$dir/in.txt")" "$canon" "--to-text to stdout"
"$exe" trace --to-binary "$dir/t.txt" -o - > "$dir/t2.bin"
if cmp -s "$dir/t.bin" "$dir/t2.bin"; then ok "binary -> text -> binary is byte-identical"
else nok "binary -> text -> binary is byte-identical"; fi
ls "$dir" | grep -q tmp && nok "no temporary file left" || ok "no temporary file left"

printf 'malloc 1 2\nfree 1\nmallocc 2 3\n' > "$dir/bad.txt"
err=$("$exe" trace --to-binary "$dir/bad.txt" -o "$dir/out.bin" 2>&1 >/dev/null)
check "$?" 2 "malformed input exits 2"
check "$err" "allocheck: $dir/bad.txt: line 3: unknown op 'mallocc'" "one line naming file and line"
[ -e "$dir/out.bin" ] && nok "no output on error" || ok "no output on error"
err=$("$exe" trace --to-text "$dir/missing.txt" 2>&1 >/dev/null)
check "$?" 2 "missing input exits 2"
check "$err" "allocheck: $dir/missing.txt: No such file or directory" "missing file message"
"$exe" trace "$dir/in.txt" >/dev/null 2>&1
check "$?" 2 "no direction is a usage error"
echo "1..$n"
[ "$fails" -eq 0 ]
