#!/usr/bin/env python3
"""The fuzz target runs an input up to its second fork op (fuzz/fuzz_ops.c), as TAP.

usage: target_forks.py FUZZ_OPS COUNT_FORKS.so
COUNT_FORKS.so appends a byte to $ALLOCHECK_TEST_FORK_LOG in every forked child: an input of a
quiet fork followed by ten busy ones forks once (eighty-one times if every fork ran). Its
calloc of 64 bytes does not zero (a fork child's calloc asks 100): a recycled block's calloc
is found between the first and the second fork op, and not after the second (the input is cut
there, not its forks skipped, so a crash file replays to the same op). Leaves out: speed."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

TARGET, COUNT = sys.argv[1:3]
tap = Tap()
HEADER = "# allocheck trace v2\n"
RECYCLED = "malloc 0 64\nfree 0\ncalloc 1 1 64\n"


def run(plugin, text, tmp, **env):
    path = os.path.join(tmp, "input.trace")
    with open(path, "w") as f:
        f.write(HEADER + text)
    e = dict(os.environ, ALLOCHECK_ALLOCATOR=plugin)
    e.update(env)
    p = subprocess.run([TARGET, path], capture_output=True, text=True, env=e, timeout=100)
    return p.returncode, p.stdout + p.stderr


def tail(out):
    return "\n".join(out.rstrip().splitlines()[-10:])


with tempfile.TemporaryDirectory(prefix="allocheck-target-forks-") as tmp:
    log = os.path.join(tmp, "forks.log")
    rc, out = run(COUNT, "malloc 0 100\nfork 0\n" + "fork 1\n" * 10 + "free 0\n", tmp,
                  ALLOCHECK_TEST_FORK_LOG=log)
    n = os.path.getsize(log) if os.path.exists(log) else 0
    tap.ok(rc == 0 and n == 1, f"a quiet fork and ten busy ones: one child forked ({n})",
           tail(out))
    rc, out = run(COUNT, "fork 0\n" + RECYCLED + "fork 0\n", tmp)
    tap.ok(rc != 0 and "calloc-zero" in out and "at op 3 " in out,
           "a finding between the first and the second fork is found at its op", tail(out))
    rc, out = run(COUNT, "fork 0\nfork 0\n" + RECYCLED, tmp)
    tap.ok(rc == 0, "past the second fork nothing runs: clean", tail(out))
tap.done()
