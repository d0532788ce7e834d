#!/usr/bin/env python3
"""The fuzz target's op selection and warmup (fuzz/fuzz_ops.c, standalone driver), as TAP.

usage: target_test.py FUZZ_OPS DIRTY_CALLOC.so PURGE.so CALLOC_TRACE
DIRTY_CALLOC.so hands out recycled blocks to calloc unzeroed: CALLOC_TRACE (a dirty block freed,
then calloc'ed) aborts with calloc-zero, and runs clean once ALLOCHECK_DROP_OPS=calloc leaves
calloc out by its op name. PURGE.so loses a block's tail only with more than 32 MiB live: the
same trace runs clean on it, and aborts in a warmup sequence with ALLOCHECK_WARMUP=2, whose big
heaps the inputs' 1 MiB live budget would never build. Leaves out: speed (bench/)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

TARGET, DIRTY, PURGE, TRACE = sys.argv[1:5]
tap = Tap()


def check(name, cond, diag=""):
    # The end of a run's output says why it failed; its start is the banner.
    tail = str(diag).rstrip().splitlines()[-10:]
    tap.ok(cond, name, "\n".join(tail))


def run(plugin, **env):
    e = dict(os.environ, ALLOCHECK_ALLOCATOR=plugin)
    e.update(env)
    p = subprocess.run([TARGET, TRACE], capture_output=True, text=True, env=e, timeout=120)
    return p.returncode, p.stdout + p.stderr


rc, out = run(DIRTY)
check("the calloc trace aborts on the dirty-calloc plugin", rc != 0 and "calloc-zero" in out, out)
rc, out = run(DIRTY, ALLOCHECK_DROP_OPS="calloc")
check("ALLOCHECK_DROP_OPS=calloc leaves calloc out: clean", rc == 0, out)
rc, out = run(DIRTY, ALLOCHECK_DROP_OPS="thread,bogus")
lines = [l for l in out.splitlines() if "bogus" in l]
check("an unknown op name: exit 2, one line naming it", rc == 2 and len(lines) == 1, out)
rc, out = run(PURGE)
check("big_heap_purge: the trace alone runs clean", rc == 0, out)
rc, out = run(PURGE, ALLOCHECK_WARMUP="2")
check("ALLOCHECK_WARMUP=2: found in a warmup sequence",
      rc != 0 and "contents" in out and "of a warmup sequence" in out, out)
sys.exit(tap.done())
