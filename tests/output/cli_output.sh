#!/bin/sh
# CLI test of output and input files: devices, FIFOs, pipes and symlinks are written in place
# (a device node is never replaced, a link never replaced by a file), a full device or disk
# is ENOSPC and exit 2, output paths are checked before the work, a fuzz summary lists only
# files that were written, generate --binary's defaults fit the binary form, and trace inputs
# have bounded cost (TAP). Devices are made here with mknod, never the system's /dev nodes.
# Usage: cli_output.sh ALLOCHECK CRASH_PLUGIN SANITIZED(true|false)
set -u
. "$(dirname "$0")/../tap.sh"
exe=$1
crash=$2
sanitized=$3
dir=$(mktemp -d /tmp/cli-output.XXXXXX) || exit 1
mnt="$dir/mnt"
shm=
cleanup() { umount "$mnt" 2>/dev/null; rm -rf "$dir" ${shm:+"$shm"}; }
trap cleanup EXIT
trap 'exit 1' INT TERM
# one_line WHAT TEXT: $dir/err is exactly one line containing TEXT.
one_line() {
    if [ "$(wc -l < "$dir/err")" -eq 1 ] && grep -qF -- "$2" "$dir/err"; then tap_pass "$1"
    else tap_fail "$1"; sed 's/^/#   /' "$dir/err"; echo "# want one line with '$2'"; fi
}
# limited CMD...: runs allocheck under a 2 GB address-space limit, so a reader that slurps an
# endless input fails fast instead of taking the machine's memory (not under sanitizers,
# which reserve terabytes of shadow).
limited() {
    if [ "$sanitized" = true ]; then "$exe" "$@"; else (ulimit -v 2000000; exec "$exe" "$@"); fi
}

echo "TAP version 13"
printf '# allocheck trace v1\nmalloc 1 16\nfree 1\n' > "$dir/t.txt"
# The output commands, each given -o last.
set_cmd() {
    case $1 in
    generate) cmd="generate --ops 50 -o" ;;
    trace) cmd="trace --to-text $dir/t.txt -o" ;;
    conform) cmd="conform --only malloc-align -o" ;;
    repro) cmd="repro $dir/t.txt -o" ;;
    minimize) cmd="minimize $dir/crash.txt -a $crash -o" ;;
    esac
}
printf '# allocheck trace v1\nmalloc 1 16\nmalloc 2 1000\n' > "$dir/crash.txt"
cmds="generate trace conform repro minimize"

# Devices: a null device swallows the output, a full one says ENOSPC; both stay devices.
if mknod "$dir/null" c 1 3 2>/dev/null && mknod "$dir/full" c 1 7 2>/dev/null; then
    for c in $cmds; do
        set_cmd "$c"
        "$exe" $cmd "$dir/null" > /dev/null 2> "$dir/err"
        tap_check "$?" 0 "$c -o a null device: exit 0"
        [ -c "$dir/null" ] && tap_pass "$c: the null device is still a device" || tap_fail "$c: the null device is still a device"
        "$exe" $cmd "$dir/full" > /dev/null 2> "$dir/err"
        tap_check "$?" 2 "$c -o a full device: exit 2"
        one_line "$c -o a full device: one line saying ENOSPC" "No space left on device"
        [ -c "$dir/full" ] && tap_pass "$c: the full device is still a device" || tap_fail "$c: the full device is still a device"
    done
else
    tap_skip "devices" "mknod needs root"
fi

# A pipe reached through /proc, a FIFO, symlinks.
tap_check "$("$exe" generate --ops 3 -o /proc/self/fd/1 | head -n 1)" "# allocheck trace v1" \
      "-o /proc/self/fd/1 writes into the pipe"
mkfifo "$dir/fifo"
cat "$dir/fifo" > "$dir/fifo.out" &
reader=$!
"$exe" trace --to-text "$dir/t.txt" -o "$dir/fifo"
rc=$?
tap_check "$rc" 0 "-o FIFO: exit 0"
# Never leave the reader waiting: the FIFO may be gone, or never have been opened.
if [ ! -p "$dir/fifo" ]; then kill "$reader"; elif [ "$rc" -ne 0 ]; then : > "$dir/fifo"; fi
wait "$reader"
tap_check "$(cat "$dir/fifo.out")" "$(cat "$dir/t.txt")" "-o FIFO: the reader gets the trace"
[ -p "$dir/fifo" ] && tap_pass "the FIFO is still a FIFO" || tap_fail "the FIFO is still a FIFO"
echo old > "$dir/target"
ln -s target "$dir/link"
"$exe" trace --to-text "$dir/t.txt" -o "$dir/link"
tap_check "$?" 0 "-o symlink: exit 0"
[ -L "$dir/link" ] && tap_pass "the symlink is still a symlink" || tap_fail "the symlink is still a symlink"
tap_check "$(cat "$dir/target")" "$(cat "$dir/t.txt")" "the symlink's target is written"
ln -s new-target "$dir/dangling"
"$exe" trace --to-text "$dir/t.txt" -o "$dir/dangling"
[ -L "$dir/dangling" ] && [ -f "$dir/new-target" ] && tap_pass "a dangling symlink's target is created" \
    || tap_fail "a dangling symlink's target is created"
"$exe" trace --to-text "$dir/t.txt" -o "$dir" 2> "$dir/err"
tap_check "$?" 2 "-o DIRECTORY: exit 2"
one_line "-o DIRECTORY: one line" "Is a directory"
ls "$dir" | grep -q '\.tmp\.' && tap_fail "no temporary file left" || tap_pass "no temporary file left"

# Output paths are checked first: conform before loading the allocators and running the
# suite (the bad -o is the error, not the missing library); repro blames the path; minimize
# says it before finding that the trace runs clean.
"$exe" conform -a "$dir/missing.so" -o "$dir/missing/dir/r.json" > /dev/null 2> "$dir/err"
tap_check "$?" 2 "conform -o missing/dir: exit 2"
one_line "conform -o missing/dir: named before the allocators load" "$dir/missing/dir/r.json: cannot write the report: No such file or directory"
"$exe" repro -o /nonexistent-allocheck-dir/x.c "$dir/t.txt" > /dev/null 2> "$dir/err"
tap_check "$?" 2 "repro -o missing/dir: exit 2"
one_line "repro -o missing/dir: blames the path" "/nonexistent-allocheck-dir/x.c: No such file or directory"
grep -q liballocheck-ref "$dir/err" && tap_fail "repro does not blame liballocheck-ref.so" \
    || tap_pass "repro does not blame liballocheck-ref.so"
"$exe" minimize -o /nonexistent-allocheck-dir/x.trace "$dir/t.txt" > /dev/null 2> "$dir/err"
one_line "minimize -o missing/dir: said before the trace runs" "/nonexistent-allocheck-dir/x.trace: No such file or directory"

# fuzz --out: a regular file, a path under one: one line, exit 2, before any fuzzing.
touch "$dir/regular"
for out in "$dir/regular" "$dir/regular/sub"; do
    "$exe" fuzz --runs 3 --out "$out" > "$dir/out" 2> "$dir/err"
    tap_check "$?" 2 "fuzz --out $(basename "$out"): exit 2"
    one_line "fuzz --out $(basename "$out"): one line" "Not a directory"
    [ -s "$dir/out" ] && tap_fail "fuzz --out $(basename "$out"): no fuzzing" || tap_pass "fuzz --out $(basename "$out"): no fuzzing"
done
# A new path under /dev (here /dev/shm, a tmpfs) is an ordinary new file: the --out check's
# probe file goes away again.
if shm=$(mktemp -d /dev/shm/cli-output.XXXXXX 2>/dev/null); then
    "$exe" fuzz --runs 1 --out "$shm/f" > /dev/null 2>&1
    tap_check "$(ls -A "$shm/f")" "" "fuzz --out under /dev/shm: no probe file left"
else
    tap_skip "fuzz --out under /dev/shm" "no /dev/shm"
fi
if mkdir "$mnt" && mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
    dd if=/dev/zero of="$mnt/fill" bs=4096 count=16 2>/dev/null
    "$exe" fuzz --runs 3 --out "$mnt/f" > "$dir/out" 2> "$dir/err"
    tap_check "$?" 2 "fuzz --out on a full disk: exit 2"
    one_line "fuzz --out on a full disk: one line" "No space left on device"
    [ -s "$dir/out" ] && tap_fail "fuzz --out on a full disk: no fuzzing" || tap_pass "fuzz --out on a full disk: no fuzzing"
    "$exe" conform --only malloc-align -o "$mnt/r.txt" > /dev/null 2> "$dir/err"
    one_line "conform -o on a full disk: ENOSPC" "No space left on device"
    # Room for the checks and small traces, not for the 18 KB reproducer: the summary lists
    # only the files written.
    rm -rf "$mnt/f"
    dd if=/dev/zero of="$mnt/fill" bs=4096 count=14 2>/dev/null
    "$exe" fuzz -a "$crash" --seed 1 --max-ops 64 --out "$mnt/f" > "$dir/out" 2> "$dir/err"
    files=$(sed -n 's/^  files: //p' "$dir/out" | tr ',' ' ')
    missing=0
    for f in $files; do [ -f "$f" ] || missing=$((missing + 1)); done
    if [ -n "$files" ] && [ "$missing" -eq 0 ]; then tap_pass "the fuzz summary lists only written files"
    else tap_fail "the fuzz summary lists only written files"; sed 's/^/#   /' "$dir/out" "$dir/err"; fi
    ls "$mnt/f"/*.c > /dev/null 2>&1 && tap_skip "a reproducer failed to write" "it fit" \
        || tap_pass "the reproducer did not fit (the case above is real)"
else
    tap_skip "full disk" "cannot mount a tmpfs"
fi

# generate --binary: its default is what the binary form holds; more says the limit.
"$exe" generate --binary -o "$dir/g.bin" 2> "$dir/err"
tap_check "$?" 0 "generate --binary with its defaults: exit 0"
tap_check "$("$exe" trace --to-text "$dir/g.bin" | grep -vc '^#')" 4096 "generate --binary writes 4096 ops"
"$exe" generate --binary --ops 10000 -o "$dir/g.bin" 2> "$dir/err"
tap_check "$?" 2 "generate --binary --ops 10000: exit 2"
one_line "generate --binary --ops 10000: says the limit" "more than the binary form holds (4096 ops)"
"$exe" generate --ops 5000 -o "$dir/g.txt"
"$exe" trace --to-binary "$dir/g.txt" -o "$dir/g2.bin" 2> "$dir/err"
one_line "trace --to-binary of 5000 ops: says the limit" "the binary form holds at most 4096"

# Trace inputs: the header decides the form; bounded cost; endless inputs end in an error.
printf '# allocheck trace v1\nmalloc 1 16\nfree 1\000\n' > "$dir/nul.txt"
"$exe" replay "$dir/nul.txt" > "$dir/out" 2> "$dir/err"
tap_check "$?" 2 "a NUL in a text trace: exit 2"
one_line "a NUL in a text trace: line-numbered" "nul.txt: line 3: byte 0x00 is not text"
printf '# allocheck trace v1\nmalloc 1 16 # caf\303\251\nfree 1\n' > "$dir/utf8.txt"
tap_check "$("$exe" replay "$dir/utf8.txt")" "$dir/utf8.txt: clean, 2 ops" "UTF-8 in a comment is text"
printf '# allocheck trace \n' > "$dir/blank.txt"
"$exe" replay "$dir/blank.txt" > /dev/null 2> "$dir/err"
one_line "a header without its version: one clean line" "blank.txt: line 1: missing trace version, expected v1"
limited replay /dev/zero > /dev/null 2> "$dir/err"
tap_check "$?" 2 "replay /dev/zero: exit 2"
one_line "replay /dev/zero: stops at the limit" "/dev/zero: longer than 1048576 bytes"
yes check | limited replay - > /dev/null 2> "$dir/err"
one_line "an endless text pipe stops at the op limit" "more than 4194304 ops"
"$exe" generate --ops 1000000 -o "$dir/big.txt"
limited trace --to-text "$dir/big.txt" -o "$dir/big2.txt"
tap_check "$?" 0 "a 1 M-op trace loads"
cmp -s "$dir/big.txt" "$dir/big2.txt" && tap_pass "and converts to itself" || tap_fail "and converts to itself"

tap_done
