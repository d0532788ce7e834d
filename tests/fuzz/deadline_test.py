#!/usr/bin/env python3
"""--time bounds a whole fuzz run, minimization included, as TAP.

usage: deadline_test.py ALLOCHECK ARENA.so LATE.so
ARENA.so fills an arena after enough over-aligned blocks (a spurious-oom finding that needs a
long history); LATE.so breaks its free list after 20,000 frees (a finding no cut can shorten
much, so minimizing it always runs into its budget). Each run must end within its budget plus
MARGIN seconds, a bound on behaviour, not a speed goal: without the bound these runs went on
for minutes. One check bounds the result instead: the arena finding (tens of thousands of
ops) must minimize to under 1 % within 90 s; the group cuts take it there in a few
candidates, plain ddmin does not. Leaves out: speed goals (bench/minimize_long.sh)."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402
import time

EXE, ARENA, LATE = sys.argv[1:4]
TMP = tempfile.mkdtemp(prefix="allocheck-deadline-")
MARGIN = 15
tap = Tap(diag_lines=30)


def check(name, cond, diag=""):
    return tap.ok(cond, name, diag)


def ops_in(path):
    with open(path) as f:
        return sum(1 for line in f if line.strip() and not line.startswith("#"))


def run(args, budget):
    """Runs allocheck; returns (rc, stdout, stderr, seconds); rc 'killed' past the bound."""
    start = time.monotonic()
    try:
        p = subprocess.run([EXE] + args, capture_output=True, text=True,
                           timeout=budget + MARGIN)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "killed", e.stdout or "", e.stderr or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
    return rc, out, err, time.monotonic() - start


def finding_files(d):
    """The NAME.trace, NAME.min.trace and NAME.c of the one finding in d, or None."""
    raw = [p for p in glob.glob(os.path.join(d, "*.trace")) if not p.endswith(".min.trace")]
    if len(raw) != 1:
        return None
    base = raw[0][:-len(".trace")]
    files = (raw[0], base + ".min.trace", base + ".c")
    return files if all(os.path.exists(p) for p in files) else None


def test_time_bound(name, plugin, seconds):
    d = os.path.join(TMP, name)
    rc, out, err, secs = run(["fuzz", "-a", plugin, "--seed", "1", "--time", str(seconds),
                              "--out", d], seconds)
    diag = f"rc={rc} {secs:.1f} s\n{out[-1500:]}\n{err[-500:]}"
    check(f"{name}: fuzz --time {seconds} ends within {seconds} + {MARGIN} s with a finding",
          rc == 1 and secs <= seconds + MARGIN, diag)
    check(f"{name}: the finding is announced before minimizing, then summarized",
          " found in " in out and "minimizing for up to" in out and "minimized from" in out
          and out.index(" found in ") < out.index("minimized from"), diag)
    files = finding_files(d)
    check(f"{name}: the trace, the minimized trace and the reproducer are written",
          files is not None, f"{os.listdir(d) if os.path.isdir(d) else 'no dir'}\n{diag}")
    if files:
        check(f"{name}: the minimized trace is no longer than the trace",
              ops_in(files[1]) <= ops_in(files[0]), f"{ops_in(files[1])} {ops_in(files[0])}")
    return files


def test_sigterm(plugin):
    """SIGTERM while minimizing: the smallest trace so far, the reproducer and the summary."""
    d = os.path.join(TMP, "term")
    p = subprocess.Popen([EXE, "fuzz", "-a", plugin, "--seed", "1", "--time", "120",
                          "--out", d], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen += line
        if "minimizing for up to" in line:
            break
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=MARGIN)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = "killed"
    out = seen + out
    diag = f"rc={rc}\n{out[-1500:]}\n{err[-500:]}"
    check("SIGTERM while minimizing: exit 1 within the margin, the summary says interrupted",
          rc == 1 and "minimized from" in out and "interrupted" in out, diag)
    check("SIGTERM while minimizing: the minimized trace and the reproducer are written",
          finding_files(d) is not None, f"{os.listdir(d) if os.path.isdir(d) else ''}\n{diag}")


def test_minimize_time(trace, plugin):
    out_path = os.path.join(TMP, "bounded.min.trace")
    rc, out, err, secs = run(["minimize", "-a", plugin, trace, "-o", out_path,
                              "--time", "3"], 3)
    check(f"minimize --time 3 of a {ops_in(trace)}-op trace ends within 3 + {MARGIN} s "
          "and writes the smallest trace so far",
          rc == 0 and secs <= 3 + MARGIN and os.path.exists(out_path) and "ran out" in err,
          f"rc={rc} {secs:.1f} s {err[-800:]}")


def test_long_history(trace, plugin):
    """The structural cuts: a long arena history shrinks to under 1 % in a few candidates."""
    out_path = os.path.join(TMP, "arena.min.trace")
    rc, out, err, secs = run(["minimize", "-a", plugin, trace, "-o", out_path,
                              "--time", "90"], 90)
    before = ops_in(trace)
    after = ops_in(out_path) if os.path.exists(out_path) else before
    check(f"minimize shrinks the {before}-op arena finding to under 1 % ({after} ops)",
          rc == 0 and before >= 10000 and after * 100 < before,
          f"rc={rc} {secs:.1f} s {err[-800:]}")


late = test_time_bound("late-free-list", LATE, 8)
arena = test_time_bound("aligned-arena", ARENA, 8)
if arena:
    test_long_history(arena[0], ARENA)
else:
    check("minimize of a long history: no trace (the fuzz run above failed)", False)
test_sigterm(LATE)
if late:
    test_minimize_time(late[0], LATE)
else:
    check("minimize --time: no trace to minimize (the fuzz run above failed)", False)

shutil.rmtree(TMP, ignore_errors=True)
sys.exit(tap.done())
