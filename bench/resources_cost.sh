#!/bin/sh
# What --resources costs `allocheck fuzz` (never a pass/fail test): CPU seconds (user + system,
# the fuzzing children included) of the same RESOURCES_COST_SEQ sequences (seed 1) with and
# without it, per allocator, median of RUNS runs each. CPU time, not wall time: on a machine
# shared with other builds the wall time of the same run varies 3x or more, the CPU time it
# needs hardly at all. The runs of the two alternate. One line per allocator: the medians and
# the overhead in percent (the goal for turning it on by default was < 10 %; docs/FUZZING.md
# has the figures).
# usage: bench/resources_cost.sh ALLOCHECK [RUNS] [SPEC...]
# env: RESOURCES_COST_SEQ (sequences per run, default 400)
set -eu
EXE=$1
RUNS=${2:-5}
shift 2 2>/dev/null || shift $#
SPECS=${*:-reference system}
SEQ=${RESOURCES_COST_SEQ:-400}
TMP=$(mktemp -d /tmp/allocheck-resources-cost.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# CPU seconds of one run: SPEC [--resources]. --keep-going: a finding must not end it early.
one() {
    python3 - "$EXE" "$1" "$SEQ" "$TMP/out" $2 <<'PY'
import resource, subprocess, sys
exe, spec, seq, out = sys.argv[1:5]
p = subprocess.run([exe, 'fuzz', '-a', spec, '--seed', '1', '--runs', seq, '--keep-going',
                    '--out', out] + sys.argv[5:], capture_output=True)
if p.returncode not in (0, 1):
    sys.stderr.write(p.stdout.decode() + p.stderr.decode())
    sys.exit(2)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.3f}")
PY
}

for spec in $SPECS; do
    : >"$TMP/off"
    : >"$TMP/on"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        one "$spec" "" >>"$TMP/off"
        one "$spec" --resources >>"$TMP/on"
        i=$((i + 1))
    done
    off=$(median <"$TMP/off")
    on=$(median <"$TMP/on")
    pct=$(echo "scale=1; ($on - $off) * 100 / $off" | bc)
    echo "resources-cost $spec: $SEQ sequences, median of $RUNS: off ${off} s CPU, on ${on} s CPU, overhead ${pct} %"
done
