#!/usr/bin/env python3
"""Runs `allocheck conform -a SPEC --profile PROFILE --format json` and compares every check's verdict, and for
every result that is not a pass its message, with an expectation file. TAP output: one test per
check, a diff of the differences; `1..0 # SKIP` when the allocator's .so is not installed.

An expectation line is `id verdict`, or `id verdict | message` where the message is normalised
(every number and address as #), so a check that still fails but now for another reason is
caught; `#` starts a comment. `--update` rewrites the file from the run instead, each failure
and divergence preceded by a comment with its clause and full message."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")
ADDRESS = re.compile(r"\b0x[0-9a-f]{9,12}\b")   # user-space addresses, not sizes like 0xff..c0


def normalise(message):
    return NUMBER.sub("#", " ".join((message or "").split()))


def load_expect(path):
    want = {}
    with open(path) as f:
        for line in f:
            if line.lstrip().startswith("#"):
                continue
            head, _, message = line.rstrip("\n").partition(" | ")
            if head.strip():
                cid, verdict = head.split()
                want[cid] = (verdict, message.strip())
    return want


def expected_line(r):
    message = normalise(r.get("message")) if r["verdict"] != "pass" else ""
    return f"{r['id']} {r['verdict']}" + (f" | {message}" if message else "")


def update(path, spec, profile, results):
    with open(path, "w") as f:
        f.write(f"# Expected verdicts of `allocheck conform -a {spec} --profile {profile}`, one "
                "`id verdict | normalised message` a line.\n"
                "# Every fail and divergence carries its clause and what the allocator does.\n")
        for r in results:
            if r["verdict"] in ("fail", "divergence"):
                message = ADDRESS.sub("p", " ".join(r.get("message", "").split()))
                f.write(f"# {r['clause']}: {message}\n")
            f.write(expected_line(r) + "\n")


def compare(got, want):
    tap = Tap()
    for cid in sorted(set(got) | set(want)):
        g = got.get(cid)
        gv = g["verdict"] if g else "missing"
        gm = normalise(g.get("message")) if g and gv != "pass" else ""
        wv, wm = want.get(cid, ("missing", ""))
        good = gv == wv and (gv == "pass" or gm == wm)
        tap.ok(good, f"{cid} {gv}" if good else f"{cid}: expected {wv}, got {gv}",
               f"- {cid} {wv} | {wm}\n+ {cid} {gv} | {gm}")
    return tap.done()


def main():
    args = [a for a in sys.argv[1:] if a != "--update"]
    tool, spec, profile, expect = args[:4]
    lib = spec.split(":", 1)[0]
    if lib.startswith("/") and not os.path.exists(lib):
        Tap.skip_all(f"{lib} is not installed")
    run = subprocess.run([tool, "conform", "-a", spec, "--profile", profile, "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    if run.returncode not in (0, 1):
        tap = Tap()
        tap.ok(False, f"allocheck conform exited {run.returncode}: {run.stderr.strip()}")
        return tap.done()
    results = json.loads(run.stdout)["results"]
    if "--update" in sys.argv:
        update(expect, spec, profile, results)
        return 0
    return compare({r["id"]: r for r in results}, load_expect(expect))


if __name__ == "__main__":
    sys.exit(main())
