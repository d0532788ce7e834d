#!/usr/bin/env python3
"""How a lying usable size is judged: writing the excess past the request is a divergence
citing malloc_usable_size(3) as it reads today (writing it is not supported), while a usable
size reaching into the next live block fails the usable-size check. TAP.
  test_usable_excess.py ALLOCHECK LIAR.so"""
import json
import subprocess
import sys

allocheck, liar = sys.argv[1], sys.argv[2]
run = subprocess.run([allocheck, "conform", "-a", liar, "--format", "json",
                      "--only", "malloc-writable,usable-size-malloc"],
                     capture_output=True, text=True, timeout=110)
results = {r["id"]: r for r in json.loads(run.stdout)["results"]}
writable, usable = results["malloc-writable"], results["usable-size-malloc"]
tests = [
    ("the excess written is a divergence, not a failure",
     writable["verdict"] == "divergence"),
    ("... citing the man page's CAVEATS", "CAVEATS" in writable["message"]
     and "malloc_usable_size(3) CAVEATS" in writable["clause"]),
    ("a usable size reaching the next live block fails usable-size-malloc",
     usable["verdict"] == "fail" and "reaches into the live block" in usable["message"]),
    ("conform exits 1 for that failure", run.returncode == 1),
]
print("TAP version 13")
for i, (name, good) in enumerate(tests, 1):
    print(f"{'ok' if good else 'not ok'} {i} - {name}")
    if not good:
        print("# " + json.dumps(writable) + "\n# " + json.dumps(usable))
print(f"1..{len(tests)}")
sys.exit(0 if all(g for _, g in tests) else 1)
