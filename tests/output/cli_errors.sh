#!/bin/sh
# CLI test of the error contract: every error is one line on stderr naming the input and
# what is wrong, exit status 2; names with control bytes are escaped and long ones shortened
# in the middle, keeping the reason; every numeric option is range-checked (TAP).
# Usage: cli_errors.sh ALLOCHECK
set -u
. "$(dirname "$0")/../tap.sh"
exe=$1
case $exe in /*) ;; *) exe=$(pwd)/$exe ;; esac
dir=$(mktemp -d /tmp/cli-errors.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT

# run_err WHAT ARGS...: runs allocheck, wants exit 2 and exactly one line on stderr; leaves
# that line in $line.
run_err() {
    what=$1
    shift
    "$exe" "$@" > "$dir/out" 2> "$dir/err" < /dev/null
    rc=$?
    line=$(cat "$dir/err")
    lines=$(wc -l < "$dir/err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ]; then tap_pass "$what: exit 2, one line"
    else tap_fail "$what: exit 2, one line"; echo "# rc=$rc, $lines lines:"; sed 's/^/#   /' "$dir/err"; fi
}
# has WHAT TEXT: the last error line contains TEXT.
has() {
    case $line in
    *"$2"*) tap_pass "$1" ;;
    *) tap_fail "$1"; echo "# got '$line'"; echo "# want it to contain '$2'" ;;
    esac
}

echo "TAP version 13"
printf '# allocheck trace v1\nmalloc 1 16\nfree 1\n' > "$dir/t.txt"

# argp's usage errors come with a "Try --help" line; the contract is one line.
run_err "trace without arguments" trace
has "trace: says what is missing" "no input FILE given"
run_err "trace with two inputs" trace --to-text "$dir/t.txt" "$dir/t.txt"
run_err "trace without a direction" trace "$dir/t.txt"

nl_name="$dir/a
b.txt"
run_err "a file name with a newline" replay "$nl_name"
has "the newline is escaped and the reason kept" "a\\nb.txt': No such file or directory"
run_err "trace: a file name with a newline" trace --to-text "$nl_name"
run_err "an argument with a newline" generate --sizes "x
y"

(cd "$dir" && "$exe" generate --ops 1 -o '' > /dev/null 2> "$dir/err")
line=$(cat "$dir/err")
has "an empty -o is named, quoted" "allocheck: '': No such file or directory"
ls "$dir" | grep -q '\.tmp\.' && tap_fail "an empty -o leaves no temporary file" || tap_pass "an empty -o leaves no temporary file"

long="$dir/$(printf '%05000d' 0)"
run_err "a 5,000-character path" replay "$long"
has "its reason survives" "File name too long"
has "its name is shortened in the middle" "$dir/000"
case $line in *...*) tap_pass "the cut is marked" ;; *) tap_fail "the cut is marked" ;; esac
[ "${#line}" -lt 300 ] && tap_pass "the line stays short" || tap_fail "the line stays short (${#line})"
run_err "a 5,000-character -o" repro -o "$long.c" "$dir/t.txt"
has "-o: its reason survives" "File name too long"

# Numbers and durations: range-checked before any cast; no NaN, infinity or overflow.
for v in nan inf -inf 1e300 0x10 99999999999999999999h 1e3 ' 5' 5x; do
    run_err "fuzz --time '$v'" fuzz --time "$v" --runs 1 --out "$dir/f"
done
has "a bad duration says what a duration is" "is not a duration"
run_err "fuzz --time 99999999999999999999h" fuzz --time 99999999999999999999h --runs 1 --out "$dir/f"
has "too long a duration says the limit" "longer than 365 days"
run_err "fuzz --threads 4294967297" fuzz --threads 4294967297 --runs 1 --out "$dir/f"
has "--threads says its range" "--threads: '4294967297' is not from 1 to 8"
run_err "generate --threads 4294967297" generate --threads 4294967297 --ops 1 -o "$dir/g"
run_err "fuzz --seed ' -1'" fuzz --seed ' -1' --runs 1 --out "$dir/f"
run_err "fuzz --runs 18446744073709551616" fuzz --runs 18446744073709551616 --out "$dir/f"
has "an integer past 2^64-1 is too large" "too large"
run_err "fuzz --max-ops 4294967297" fuzz --max-ops 4294967297 --runs 1 --out "$dir/f"
run_err "replay --hang nan" replay --hang nan "$dir/t.txt"
run_err "replay --max-live -1" replay --max-live -1 "$dir/t.txt"
run_err "conform -j 4294967297" conform -j 4294967297 -o "$dir/r"
run_err "conform --timeout inf" conform --timeout inf -o "$dir/r"
run_err "generate --ops 4194305" generate --ops 4194305 -o "$dir/g"
has "--ops says the most a trace holds" "is not from 0 to 4194304"
[ -e "$dir/f" ] && tap_fail "no fuzzing after a bad number" || tap_pass "no fuzzing after a bad number"
"$exe" fuzz --time 0.0001 --runs 1 --out "$dir/f" > /dev/null 2>&1
[ $? -eq 0 ] && tap_pass "a duration under 1 ms is fine (rounded up)" || tap_fail "a duration under 1 ms is fine"

tap_done
