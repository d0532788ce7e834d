#!/usr/bin/env python3
"""Seed inputs that carry a finding to the fuzz target on their own (fuzz/fuzz_ops.c, standalone
driver), as TAP: each seed must run clean on the clean base allocator and abort (or crash) on
each seeded bug named with it. A libFuzzer or AFL++ campaign starts from these seeds and does
not see the plugins' code, so a bug class no seed reaches is one it finds by luck alone.

usage: seed_finds_test.py FUZZ_OPS NONE.so SEED=BUG.so[,BUG.so...] ...
Leaves out: how soon a campaign finds the bugs (bench/detect.py)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

TARGET, NONE = sys.argv[1:3]
tap = Tap()


def run(plugin, seed):
    env = dict(os.environ, ALLOCHECK_ALLOCATOR=plugin)
    p = subprocess.run([TARGET, seed], capture_output=True, text=True, env=env, timeout=120)
    return p.returncode, p.stdout + p.stderr


def tail(out):
    return "\n".join(out.rstrip().splitlines()[-8:])


for pair in sys.argv[3:]:
    seed, bugs = pair.split("=", 1)
    name = os.path.basename(seed)
    rc, out = run(NONE, seed)
    tap.ok(rc == 0, f"{name}: clean on the base allocator", tail(out))
    for bug in bugs.split(","):
        rc, out = run(bug, seed)
        # A finding aborts (SIGABRT), a crash in the plugin is a signal (or, in a sanitized
        # build, the sanitizer's exit 1); exit 2 would be an input error, 0 a miss.
        tap.ok(rc not in (0, 2), f"{name}: finds {os.path.basename(bug)}",
               f"exit status {rc}\n{tail(out)}")
sys.exit(tap.done())
