#!/usr/bin/env python3
"""allocheck profile through its CLI (TAP): every --format parses as what it says it is, -o
writes the file, a trace file given with --workload becomes a workload, an allocator that
crashes in some workloads is a 'crashed' cell with its signal while the others still run
(exit 1, the report complete), and bad input is one line on stderr with exit 2.

Usage: profile_cli.py ALLOCHECK CLEAN_PLUGIN CRASH_PLUGIN TEXT_TRACE BINARY_TRACE"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from taplib import Tap  # noqa: E402

ALLOCHECK, CLEAN, CRASH, TRACE, BINTRACE = sys.argv[1:6]
QUICK = ["profile", "--quick", "--reps", "1"]


def run(args, timeout=180):
    return subprocess.run([ALLOCHECK] + args, capture_output=True, text=True, timeout=timeout)


TAP = Tap(diag_lines=20)
check = TAP.ok


def json_report(tmp):
    out = os.path.join(tmp, "r.json")
    p = run(QUICK + ["-a", CLEAN, "-a", "reference", "--workload", TRACE, "--workload", BINTRACE,
                     "--format", "json",
                     "-o", out])
    check(p.returncode == 0 and p.stdout == "", "json run exits 0 and writes only -o",
          p.stderr)
    try:
        with open(out) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "json parses", e)
        return None
    check(True, "json parses")
    return doc


def json_content(doc):
    names = doc["workloads"]
    check(names == ["sawtooth", "random", "realloc", "robson", os.path.basename(TRACE),
                     os.path.basename(BINTRACE)], "json names the four workloads and the traces",
          names)
    res = doc["results"]
    check(len(res) == 2 and all(len(r["workloads"]) == 6 for r in res),
          "json has every workload for both allocators")
    for cell in res[0]["workloads"][4:]:
        check(cell["status"] == "ok" and cell["ops"] > 0 and cell["peak_live"] > 0,
              "the trace file %s ran as a workload" % cell["name"], cell)
    w = res[0]["workloads"][0]
    check(w["peak_resident"] > 0 and w["fragmentation"] > 0.5 and len(w["samples"]) > 10,
          "sawtooth has a footprint, a fragmentation figure and samples over time", w)
    check(all(len(r["threads"]) == 3 for r in res) and
          res[0]["threads"][2]["throughput"]["ops_per_s"] > 0, "threads 1, 2 and 4 measured")
    sizes = res[0]["sizes"]
    check(len(sizes) >= 10 and sizes[0]["size"] == 1 and sizes[-1]["size"] == 1 << 20 and
          all(s["usable"] >= s["size"] for s in sizes if s["status"] == "ok"),
          "the size sweep spans 1 B to 1 MiB with usable >= requested")


def other_formats():
    p = run(QUICK + ["-a", CLEAN, "--format", "csv"])
    rows = list(csv.reader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and rows[0] == ["allocator", "section", "item", "metric", "value"]
          and all(len(r) == 5 for r in rows) and len(rows) > 50 and
          all(float(r[4]) >= 0 for r in rows[1:]), "csv: a header and five numeric-valued "
          "columns on every row", p.stderr or p.stdout[:500])
    p = run(QUICK + ["-a", CLEAN, "--format", "markdown"])
    tables = [l for l in p.stdout.splitlines() if l.startswith("| --- |")]
    check(p.returncode == 0 and len(tables) == 5, "markdown: five tables", p.stdout[:800])
    p = run(QUICK + ["-a", CLEAN])
    check(p.returncode == 0 and "fragmentation" in p.stdout and "sawtooth" in p.stdout,
          "human: the tables on stdout", p.stderr)


def crashing():
    p = run(QUICK + ["-a", CLEAN, "-a", CRASH, "--format", "json"])
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        check(False, "a crashing allocator: the report is still written", e)
        return
    cells = {w["name"]: w for w in doc["results"][1]["workloads"]}
    check(p.returncode == 1, "a crashing allocator: exit 1", p.returncode)
    check(cells["random"]["status"] == "crashed" and "SEGV" in cells["random"]["note"],
          "its crash is a cell naming the signal", cells["random"])
    check(cells["sawtooth"]["status"] == "ok" and
          all(w["status"] == "ok" for w in doc["results"][0]["workloads"]),
          "its other workloads and the other allocator still ran")


BAD = [
    (["--format", "nope"], "format"),
    (["--reps", "0"], "--reps"),
    (["--workload", "/nonexistent/trace"], "/nonexistent/trace"),
    (["-a", "/nonexistent/lib.so"], "/nonexistent/lib.so"),
    (["-a", "preload:/nonexistent/lib.so"], "preload:"),
    (["-o", "/nonexistent/dir/report.html"], "/nonexistent/dir/report.html"),
    (["--timeout", "soon"], "--timeout"),
    (["stray"], "stray"),
]


def bad_input():
    for args, word in BAD:
        p = run(["profile", "--quick"] + args, timeout=60)
        lines = p.stderr.splitlines()
        check(p.returncode == 2 and len(lines) == 1 and word in lines[0] and p.stdout == "",
              "bad input %s: one line naming it, exit 2" % " ".join(args),
              "status %d, stderr %r" % (p.returncode, p.stderr))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        doc = json_report(tmp)
        if doc:
            json_content(doc)
    other_formats()
    crashing()
    bad_input()
    return TAP.done()


if __name__ == "__main__":
    sys.exit(main())
