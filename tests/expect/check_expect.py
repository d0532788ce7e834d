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
    ids = sorted(set(got) | set(want))
    print(f"1..{len(ids)}")
    bad = 0
    for n, cid in enumerate(ids, 1):
        g = got.get(cid)
        gv = g["verdict"] if g else "missing"
        gm = normalise(g.get("message")) if g and gv != "pass" else ""
        wv, wm = want.get(cid, ("missing", ""))
        if gv == wv and (gv == "pass" or gm == wm):
            print(f"ok {n} - {cid} {gv}")
            continue
        bad += 1
        print(f"not ok {n} - {cid}: expected {wv}, got {gv}")
        print(f"# - {cid} {wv} | {wm}\n# + {cid} {gv} | {gm}")
    return 1 if bad else 0


def main():
    args = [a for a in sys.argv[1:] if a != "--update"]
    tool, spec, profile, expect = args[:4]
    lib = spec.split(":", 1)[0]
    if lib.startswith("/") and not os.path.exists(lib):
        print(f"1..0 # SKIP {lib} is not installed")
        return 0
    run = subprocess.run([tool, "conform", "-a", spec, "--profile", profile, "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    if run.returncode not in (0, 1):
        print("1..1\nnot ok 1 - allocheck conform exited %d: %s" % (run.returncode,
                                                                     run.stderr.strip()))
        return 1
    results = json.loads(run.stdout)["results"]
    if "--update" in sys.argv:
        update(expect, spec, profile, results)
        return 0
    return compare({r["id"]: r for r in results}, load_expect(expect))


if __name__ == "__main__":
    sys.exit(main())
