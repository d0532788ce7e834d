#!/usr/bin/env python3
"""Forks are in the fuzzer's grammar, and correct allocators fuzz clean with them, as TAP.

usage: fork_clean.py ALLOCHECK [SPEC[=KNOWN]...]
The grammar (`allocheck generate --threads 2 --sizes stress`, the fuzzer's mix) holds `fork B`
ops with busy threads and requests of valid sizes no machine can meet; then each SPEC is fuzzed
for 10 s with seed 1 and --keep-going (two threads, so every fork has a hammer inside the
allocator) and must come out clean but for its known finding KNOWN, the start of a distinct
finding's line ("failure-path aligned_alloc": glibc before 2.38 accepts an alignment of 3).
Leaves out: how often a fork runs per second (bench/)."""
import re
import subprocess
import sys
import tempfile

EXE, SPECS = sys.argv[1], sys.argv[2:]
results = []


def check(name, cond, diag=""):
    results.append((bool(cond), name, diag))


gen = subprocess.run([EXE, "generate", "--seed", "1", "--threads", "2", "--sizes", "stress",
                      "--ops", "400000"], capture_output=True, text=True, timeout=120)
forks = re.findall(r"^fork (\d)$", gen.stdout, re.M)
check(f"the grammar forks with a busy thread ({len(forks)} forks in 400,000 ops)",
      gen.returncode == 0 and forks and all(int(b) >= 1 for b in forks), gen.stderr[-300:])
unmet = re.findall(r"^(?:realloc \d+|malloc \d+) 2\^(4[5-9]|5\d|6[0-2])", gen.stdout, re.M)
check(f"the grammar asks for valid sizes that cannot be met ({len(unmet)} malloc/realloc)",
      len(unmet) > 0)
for arg in SPECS:
    spec, _, known = arg.partition("=")
    with tempfile.TemporaryDirectory(prefix="allocheck-forks-") as out:
        p = subprocess.run([EXE, "fuzz", "-a", spec, "--seed", "1", "--time", "10", "--threads",
                            "2", "--keep-going", "--out", out], capture_output=True, text=True,
                           timeout=120)
        found = re.findall(r"^\s+\d+ x (.*)$", p.stdout, re.M)
        other = [f for f in found if not (known and f.startswith(known))]
        check(f"{spec} fuzzes clean for 10 s with forks on"
              + (f" (but for its known {known})" if known else ""),
              p.returncode in (0, 1) and not other and (p.returncode == 0 or found),
              f"exit {p.returncode}\n{p.stdout[-1200:]}\n{p.stderr[-400:]}")

print(f"1..{len(results)}")
for i, (ok, name, diag) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and diag:
        for line in str(diag).splitlines()[:30]:
            print(f"# {line}")
