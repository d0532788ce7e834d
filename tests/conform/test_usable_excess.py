#!/usr/bin/env python3
"""How a lying usable size is judged: writing the excess past the request is a divergence
citing malloc_usable_size(3) as it reads today (writing it is not supported), while a usable
size reaching into the next live block fails the usable-size check. TAP.
  test_usable_excess.py ALLOCHECK LIAR.so"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

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
tap = Tap()
for name, good in tests:
    tap.ok(good, name, json.dumps(writable) + "\n" + json.dumps(usable))
sys.exit(tap.done())
