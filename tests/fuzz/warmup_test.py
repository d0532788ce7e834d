#!/usr/bin/env python3
"""fuzz --warmup and --big-heap, as TAP.

usage: warmup_test.py ALLOCHECK PURGE.so LATE.so NONE.so
PURGE.so loses a block's tail only while more than 32 MiB is live (tests/bugs, big_heap_purge):
the warmup's big heap must find it, in a warmup sequence, with a trace, minimized trace and
reproducer that fail the same way. LATE.so breaks after 20,000 frees: with a short warmup the
finding comes in a checked sequence, and the trace that replays it from a fresh process must
start with what the child ran first, warmup sequence 0's big heap. NONE.so is the clean base:
warmup and big heaps must not make findings of their own. Leaves out: speed (bench/)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

EXE, PURGE, LATE, NONE = sys.argv[1:5]
TMP = tempfile.mkdtemp(prefix="allocheck-warmup-")
tap = Tap()


def check(name, cond, diag=""):
    # The end of a run's output says why it failed; its start is the banner.
    tail = str(diag).rstrip().splitlines()[-15:]
    tap.ok(cond, name, "\n".join(tail))


def run(args, timeout=120):
    p = subprocess.run([EXE] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def ops(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip() and not line.startswith("#")]


def fuzz(plugin, out, *opts):
    return run(["fuzz", "-a", plugin, "--seed", "1", "--time", "30", "--minimize-time", "3",
                "-o", os.path.join(TMP, out)] + list(opts))


def found_files(out):
    raw = [f for f in glob.glob(os.path.join(TMP, out, "*.trace")) if ".min." not in f]
    return raw[0] if raw else None


def warmup_finding():
    rc, out, err = fuzz(PURGE, "purge", "--warmup", "4")
    check("big_heap_purge: found with --warmup 4", rc == 1 and "contents" in out, out + err)
    check("big_heap_purge: found in a warmup sequence", "in warmup sequence" in out, out)
    trace = found_files("purge")
    check("big_heap_purge: the trace is saved", trace, out)
    if not trace:
        return
    with open(trace) as f:
        check("the trace says how it was found", "--warmup 4 (warmup sequence" in f.read())
    for path in (trace, trace[:-6] + ".min.trace"):
        rc, out, err = run(["replay", "-a", PURGE, path])
        check(f"replay {os.path.basename(path)} fails with contents", rc == 1 and
              "contents" in out + err, out + err)
    rc, out, err = run(["replay", "-a", NONE, trace])
    check("the same trace is clean on the clean base", rc == 0, out + err)


def size_of(tok):
    """A size as docs/TRACE_FORMAT.md writes it: decimal, hex, 2^K, a named constant, +/- terms."""
    names = {"SIZE_MAX": 2**64 - 1, "PTRDIFF_MAX": 2**63 - 1, "PAGE": 4096}
    total = 0
    for sign, term in re.findall(r"([+-]?)([^+-]+)", tok):
        base, _, exp = term.partition("^")
        v = names.get(term) if term in names else int(base, 0) ** int(exp) if exp else int(term, 0)
        total += -v if sign == "-" else v
    return total


def warmup_in_candidate():
    # Turns, not the default's bursts now and then: this bug needs a warm heap, not a race,
    # and a burst sequence's interleaving may not recur in a replay.
    rc, out, err = fuzz(LATE, "late", "--warmup", "3", "--schedule=turns")
    m = re.search(r"found after [0-9.]+ s in sequence (\d+)", out)
    check("late_free_list: found in a checked sequence after the warmup", rc == 1 and m,
          out + err)
    check("late_free_list: reproduced from a fresh process", "did not reproduce" not in out,
          out)
    trace = found_files("late")
    if not trace:
        return
    first = ops(trace)[:200]
    big = sum(1 for op in first if op[0] in ("malloc", "calloc") and size_of(op[-1]) >= 4096)
    check("its trace starts with warmup sequence 0's big heap", big >= 100,
          f"{big} allocations of 4 KiB or more in the first 200 ops")
    rc, out, err = run(["replay", "-a", LATE, trace])
    check("that trace replays the finding", rc == 1, out + err)


def clean_base():
    rc, out, err = run(["fuzz", "-a", NONE, "--seed", "1", "--runs", "40", "--warmup", "3",
                        "--big-heap", str(48 << 20), "-o", os.path.join(TMP, "none")])
    check("the clean base stays clean with --warmup 3 --big-heap", rc == 0, out + err)


def bad_input():
    for opt, val in (("--warmup", "x"), ("--warmup", "-1"), ("--big-heap", "0")):
        rc, out, err = run(["fuzz", "-a", NONE, opt, val])
        lines = err.strip().splitlines()
        check(f"{opt} {val}: exit 2 with one line naming it", rc == 2 and len(lines) == 1 and
              opt in lines[0], err)


try:
    warmup_finding()
    warmup_in_candidate()
    clean_base()
    bad_input()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(tap.done())
