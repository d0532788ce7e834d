#!/usr/bin/env python3
"""The seeded no-coalescing bug is seen by allocheck profile (TAP): on at least one workload
its fragmentation (peak footprint / peak live) is at least twice the clean base's, and the
clean base's own figures are sane (between 1 and 2 on sawtooth). A ratio of memory, not a
time: the first-fit walk's slowness is measured by bench/profile_bugs.sh instead.

Usage: profile_bugs.py ALLOCHECK CLEAN_PLUGIN NO_COALESCE_PLUGIN"""
import json
import subprocess
import sys

ALLOCHECK, CLEAN, NOCOAL = sys.argv[1:4]


def main():
    p = subprocess.run([ALLOCHECK, "profile", "--quick", "--reps", "1", "-a", CLEAN, "-a", NOCOAL,
                        "--format", "json"], capture_output=True, text=True, timeout=100)
    doc = json.loads(p.stdout)
    clean, bug = ({w["name"]: w for w in r["workloads"]} for r in doc["results"])
    ratios = {n: bug[n]["fragmentation"] / clean[n]["fragmentation"] for n in clean
              if clean[n]["fragmentation"] > 0}
    for n, r in sorted(ratios.items()):
        print("# %s: clean %.2f, no coalescing %.2f (%.2fx)" % (
            n, clean[n]["fragmentation"], bug[n]["fragmentation"], r))
    ok1 = p.returncode == 0
    ok2 = 1.0 <= clean["sawtooth"]["fragmentation"] <= 2.0
    ok3 = max(ratios.values(), default=0) >= 2.0
    print("%s 1 - profile runs clean on both" % ("ok" if ok1 else "not ok"))
    print("%s 2 - the clean base fragments little on sawtooth" % ("ok" if ok2 else "not ok"))
    print("%s 3 - no coalescing: fragmentation >= 2x the clean base's on a workload"
          % ("ok" if ok3 else "not ok"))
    print("1..3")
    return 0 if ok1 and ok2 and ok3 else 1


if __name__ == "__main__":
    sys.exit(main())
