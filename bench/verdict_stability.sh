#!/bin/sh
# Verdicts under load: runs `allocheck conform --format json` RUNS times (default 5) against
# each allocator installed here (reference, system, jemalloc, mimalloc, tcmalloc, scudo) while
# a fuzz campaign keeps every CPU busy, and prints each check whose verdict was not the same in
# every run, with the allocator and the verdicts seen. A benchmark, never a test: what it shows
# is whether a check's per-process timeout or resource limits make a verdict depend on the
# machine's load.
# Terms: a "verdict" is a check's pass/fail/skip in the JSON report; a run that exits 2 (a load
# or usage error) counts as the verdict "error" for all of its checks.
# Exit status: 0 every verdict held, 1 one changed, 2 the tool is missing.
# usage: bench/verdict_stability.sh [ALLOCHECK [RUNS]]
# env: VERDICT_STABILITY_ALLOCS (the allocators; default the six above, those that load),
#      VERDICT_STABILITY_FUZZERS (campaigns kept running; default: the number of CPUs).
set -u
exe=${1:-build/src/allocheck}
runs=${2:-5}
allocs=${VERDICT_STABILITY_ALLOCS:-reference system jemalloc mimalloc tcmalloc scudo}
fuzzers=${VERDICT_STABILITY_FUZZERS:-$(nproc)}
[ -x "$exe" ] || { echo "verdict_stability.sh: $exe: not an executable" >&2; exit 2; }
tmp=$(mktemp -d /tmp/allocheck-verdicts.XXXXXX)
pids=""

# Each campaign leads its own session, so stopping it reaches its supervised children too.
# SIGINT lets it end as a user's ^C would; what is left after 10 s is killed.
stop_load() {
    for pid in $pids; do
        kill -INT "-$pid" 2>/dev/null
    done
    for pid in $pids; do
        t=0
        while kill -0 "$pid" 2>/dev/null && [ "$t" -lt 100 ]; do
            sleep 0.1
            t=$((t + 1))
        done
        kill -KILL "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=""
}
trap 'stop_load; rm -rf "$tmp"' EXIT
trap 'exit 2' INT TERM

# The load: campaigns on the reference allocator with different seeds, long enough to outlast
# every conformance run (they are stopped when the last one ends).
i=0
while [ "$i" -lt "$fuzzers" ]; do
    i=$((i + 1))
    setsid "$exe" fuzz -a reference --seed "$i" --time 24h --keep-going \
        --out "$tmp/findings$i" >"$tmp/fuzz$i.log" 2>&1 &
    pids="$pids $!"
done
sleep 1

# One "allocator<TAB>check<TAB>verdict" line per check of a JSON report (stdin).
verdicts() {
    python3 -c '
import json, sys
for r in json.load(sys.stdin)["results"]:
    print("\t".join((r["allocator"], r["id"], r["verdict"])))'
}

echo "allocheck conform --format json, $runs runs per allocator, $fuzzers fuzz campaigns" \
     "on $(nproc) CPUs"
tested=""
for a in $allocs; do
    if ! "$exe" allocators -a "$a" >/dev/null 2>&1; then
        echo "  $a: not installed, left out"
        continue
    fi
    tested="$tested $a"
    r=0
    while [ "$r" -lt "$runs" ]; do
        r=$((r + 1))
        "$exe" conform -a "$a" --format json -o "$tmp/$a.$r.json" 2>"$tmp/$a.$r.err"
        if [ $? -ge 2 ]; then
            echo "  $a run $r: exit 2: $(head -1 "$tmp/$a.$r.err")"
            printf '%s\t*\terror\n' "$a" >"$tmp/$a.$r.v"
        else
            verdicts <"$tmp/$a.$r.json" >"$tmp/$a.$r.v"
        fi
        cat "$tmp/$a.$r.v" >>"$tmp/all"
    done
    checks=$(cut -f2 "$tmp/$a.1.v" | sort -u | wc -l)
    fails=$(grep -c "	fail$" "$tmp/$a.1.v")
    echo "  $a: $checks checks, $fails failing in run 1"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
stop_load

# A check is stable when every run gave it the same verdict; otherwise print what each run
# said, in run order (a check missing from a run is a change too).
changed=$(awk -F'\t' -v runs="$runs" '
    { key = $1 "\t" $2; n[key]++; said[key] = said[key] " " $3
      if (!((key, $3) in seen)) { seen[key, $3] = 1; kinds[key]++ } }
    END { for (k in n) if (kinds[k] > 1 || n[k] != runs) print k "\t" said[k] }' \
    "$tmp/all" | sort)
if [ -n "$changed" ]; then
    echo "verdicts that changed between runs (allocator, check, the verdict of each run):"
    echo "$changed" | sed 's/^/  /'
    exit 1
fi
echo "every verdict held over $runs runs for:$tested"
exit 0
