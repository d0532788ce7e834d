#!/usr/bin/env python3
"""The test helpers tested on themselves, as TAP: tests/tap.h through tap_self.c (every typed
check passes, fails with both sides printed, and a case table isolates a crash and a failed
check), tests/taplib.py through a child run of this script (both sides of eq and has,
skip_all, deferred amendment), and tests/tap.sh through sh.
usage: tap_self.py TAP_SELF_BINARY"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def lines(out, word):
    return re.findall(rf"^{word} \d+ - (.*)$", out, re.M)


def c_helper(tap, exe):
    rc, out = run([exe, "pass"])
    tap.ok(rc == 0 and len(lines(out, "ok")) == 11 and out.endswith("1..11\n"),
           "tap.h: 11 kinds of check pass, plan last", out)
    rc, out = run([exe, "fail"])
    tap.eq(len(lines(out, "not ok")), 11, "tap.h: each kind of check fails when it should", out)
    tap.ok(rc == 1, "tap.h: a failed check makes the exit status 1", out)
    for what, shown in [("int", "#   left:  3\n#   right: 4"),
                        ("uint", f"#   left:  {2**64 - 1}\n#   right: {2**64 - 2}"),
                        ("string", '#   left:  "abc"\n#   right: "abd"'),
                        ("memory", "byte 2 of 4: left 0x03, right 0x04"),
                        ("location", "tap_self.c:")]:
        tap.has(out, shown, f"tap.h: a failed {what} comparison shows both sides")
    rc, out = run([exe, "cases", "--list"])
    tap.eq(out.split(), ["clean", "crash", "check"], "tap.h: --list names the cases")
    rc, out = run([exe, "cases"])
    tap.ok(re.search(r"^ok 1 - clean: passes$", out, re.M) is not None,
           "tap.h: a passing case is one ok line", out)
    tap.ok(re.search(r"^not ok 2 - crash: dies of SIGKILL \(signal 9\)$", out, re.M)
           is not None, "tap.h: a crashing case fails alone, naming the signal", out)
    tap.ok(re.search(r"^not ok 3 - check: fails a check$", out, re.M) is not None and
           "# 2 checks, 1 failed" in out and "#   left:  1\n#   right: 2" in out,
           "tap.h: a failed check inside a case fails the case, with both sides", out)
    tap.ok(rc == 1 and out.endswith("1..3\n"), "tap.h: case table plan last, exit 1", out)
    rc, out = run([exe, "cases", "check"])
    tap.ok(out.startswith("# ") and "1..1" in out and rc == 1, "tap.h: an id runs one case",
           out)


def child():
    """What the parent reads: taplib's output for fixed checks."""
    mode = sys.argv[2]
    if mode == "skip":
        Tap.skip_all("nothing here")
    tap = Tap(deferred=mode == "deferred")
    tap.eq([1, 2], [1, 3], "lists")
    tap.has("abc", "x", "text")
    tap.skip("a case", "no tool")
    if mode == "deferred":
        tap.results[0] = (True, "amended", "")
    return tap.done()


def py_helper(tap):
    me = os.path.abspath(__file__)
    rc, out = run([sys.executable, me, "--child", "plain"])
    tap.ok(rc == 1 and "not ok 1 - lists\n# got:  [1, 2]\n# want: [1, 3]" in out,
           "taplib: eq shows both sides", out)
    tap.has(out, "not ok 2 - text\n# looked for: 'x'\n# in:         'abc'",
            "taplib: has shows both sides")
    tap.has(out, "ok 3 - a case # SKIP no tool\n1..3\n", "taplib: skip passes, plan last")
    rc, out = run([sys.executable, me, "--child", "deferred"])
    tap.ok(out.startswith("1..3\nok 1 - amended\nnot ok 2 - text") and rc == 1,
           "taplib: deferred prints plan first and an amended result", out)
    rc, out = run([sys.executable, me, "--child", "skip"])
    tap.ok(rc == 0 and out == "1..0 # SKIP nothing here\n", "taplib: skip_all", out)


def sh_helper(tap):
    lib = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tap.sh")
    script = (f'. "{lib}"; tap_check a a same; tap_check abc abd "not same" || echo returned 1; '
              'false; tap_ok $? status; tap_skip later "no tool"; tap_diag "one" "two"; tap_done')
    rc, out = run(["sh", "-c", script])
    tap.eq(out, "ok 1 - same\nnot ok 2 - not same\n# got  'abc'\n# want 'abd'\nreturned 1\n"
           "not ok 3 - status\nok 4 - later # SKIP no tool\n# one\n# two\n1..4\n",
           "tap.sh: check shows both sides, ok takes a status, skip, diag, plan last")
    tap.eq(rc, 1, "tap.sh: tap_done fails the script after a failed check")
    rc, out = run(["sh", "-c", f'. "{lib}"; tap_pass fine; tap_done'])
    tap.ok(rc == 0 and out == "ok 1 - fine\n1..1\n", "tap.sh: all passed, status 0", out)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child()
    tap = Tap()
    c_helper(tap, sys.argv[1])
    py_helper(tap)
    sh_helper(tap)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
