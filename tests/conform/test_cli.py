#!/usr/bin/env python3
"""CLI tests of `allocheck conform` and `allocheck list` (TAP output): usage errors are one
line with exit 2; list --format json has the documented keys; -o writes a parsable report.
argv: the allocheck binary, a seeded-bug plugin that fails calloc-overflow-null, one that never
sets errno, and a flaky one (flaky.c)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

EXE, FAILING, NO_ERRNO, FLAKY = sys.argv[1:5]
tap = Tap()
ok = tap.ok


def run(*args):
    return subprocess.run([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, errors="replace", timeout=120)


def usage_error(args, needle):
    p = run(*args)
    lines = p.stderr.splitlines()
    ok(p.returncode == 2 and len(lines) == 1 and needle in lines[0],
       "%s: exit 2, one line naming %r (rc %d, %r)" % (" ".join(args), needle, p.returncode,
                                                      p.stderr))


def test_usage():
    usage_error(["conform", "--profile", "c99"], "c99")
    usage_error(["conform", "-j", "0"], "0")
    usage_error(["conform", "-j", "many"], "many")
    usage_error(["conform", "--format", "yaml"], "yaml")
    usage_error(["conform", "--timeout", "soon"], "soon")
    usage_error(["conform", "--only", "no-such-check-*"], "no check")
    usage_error(["conform", "-a", "/nonexistent/liballoc.so"], "/nonexistent/liballoc.so")
    usage_error(["list", "--format", "tap"], "tap")


def test_list():
    p = run("list", "--format", "json")
    doc = json.loads(p.stdout) if p.returncode == 0 else []
    keys = {"id", "function", "clause", "description"}
    ok(p.returncode == 0 and len(doc) > 0 and all(set(c) == keys for c in doc),
       "list --format json: %d checks with keys id, function, clause, description" % len(doc))
    ids = [c["id"] for c in doc]
    ok(len(ids) == len(set(ids)), "list: ids are unique")
    h = run("list")
    ok(h.returncode == 0 and all(i in h.stdout for i in ids), "list: the table names every id")
    return ids


def test_output(ids):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        p = run("conform", "-a", "reference", "--only", ids[0], "-f", "json", "-o", out)
        doc = json.load(open(out)) if os.path.exists(out) else {}
        ok(p.returncode in (0, 1) and p.stdout == "" and len(doc.get("results", [])) == 1,
           "conform -o FILE writes one result as JSON (rc %d)" % p.returncode)
        bad = os.path.join(d, "missing", "r.json")
        p = run("conform", "--only", ids[0], "-o", bad)
        ok(p.returncode == 2 and len(p.stderr.splitlines()) == 1 and bad in p.stderr
           and not os.path.exists(bad), "conform -o into a missing directory: one line, exit 2")



def verdict_and_status(spec, check):
    """Runs one check on one allocator; returns (its verdict in the JSON report, exit status)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        p = run("conform", "-a", spec, "--only", check, "-f", "json", "-o", out)
        doc = json.load(open(out)) if os.path.exists(out) else {}
        results = doc.get("results", [])
        return (results[0]["verdict"] if len(results) == 1 else "?"), p.returncode


def test_exit_status(failing_plugin):
    """Exit 0 when every verdict passes, 1 when one fails: both sides, each from its own run."""
    verdict, rc = verdict_and_status("reference", "calloc-overflow-null")
    ok(verdict == "pass" and rc == 0, "a passing check exits 0 (%s, rc %d)" % (verdict, rc))
    verdict, rc = verdict_and_status(failing_plugin, "calloc-overflow-null")
    ok(verdict == "fail" and rc == 1, "a failing check exits 1 (%s, rc %d)" % (verdict, rc))


def test_matrix(ids):
    p = run("conform", "-a", "reference", "-a", "system", "--only", ",".join(ids[:3]),
            "-f", "markdown")
    rows = [l for l in p.stdout.splitlines() if l.startswith("| ") and "---" not in l]
    ok(p.returncode in (0, 1) and "| reference | system |" in p.stdout,
       "conform with two allocators: markdown matrix (rc %d)" % p.returncode)
    t = run("conform", "-a", "reference", "--only", ids[0], "-f", "tap", "-j", "1")
    ok(t.stdout.startswith("TAP version 13\n1..1\n"), "conform -f tap plans one test")


def failed_ids(spec, *opts):
    p = run("conform", "-a", spec, "-f", "json", "--only", "*enomem*,*errno*,malloc-size-max",
            *opts)
    doc = json.loads(p.stdout) if p.returncode in (0, 1) and p.stdout else {"results": []}
    return p.returncode, {r["id"] for r in doc["results"] if r["verdict"] == "fail"}


def test_profiles(no_errno):
    """errno is POSIX's: the default profile (posix2024) requires it, ISO C's profiles do not,
    and an allocator declaring no-errno is not failed for it under any."""
    rc, fails = failed_ids(no_errno)
    ok(rc == 1 and {"malloc-size-max", "malloc-huge-enomem"} <= fails,
       "default profile posix2024 fails an allocator that never sets errno (rc %d, %s)"
       % (rc, sorted(fails)))
    for prof in ("c11", "c17", "c23"):
        rc, fails = failed_ids(no_errno, "--profile", prof)
        ok(rc == 0 and not fails, "--profile %s: errno is not required (rc %d, %s)"
           % (prof, rc, sorted(fails)))
    rc, fails = failed_ids(no_errno + ":no-errno")
    ok(rc == 0 and not fails, "SPEC:no-errno: errno not failed under posix2024 (rc %d, %s)"
       % (rc, sorted(fails)))
    p = run("conform", "-a", no_errno + ":no-errno", "--only", "calloc-overflow-enomem",
            "-f", "json")
    doc = json.loads(p.stdout) if p.stdout else {"results": [{}]}
    ok(doc["results"][0].get("verdict") == "skip" and "no-errno" in doc["results"][0]["message"],
       "an errno-only check skips for no-errno, saying why")


def test_repeat(flaky):
    """--repeat N marks a verdict that changes between identical runs, and only such a one."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, FLAKY_COUNTER=os.path.join(d, "count"))
        p = subprocess.run([EXE, "conform", "-a", flaky, "--only", "usable-size-malloc",
                            "--repeat", "3", "-f", "json"], capture_output=True, text=True,
                           env=env, timeout=120)
        res = json.loads(p.stdout)["results"][0] if p.stdout else {}
        ok(res.get("runs") == 4 and res.get("same") == 2 and
           res.get("message", "").startswith("unstable (2 of 4 runs gave fail)"),
           "--repeat 3: a check failing every other run is unstable (2 of 4) (%r)"
           % res.get("message", p.stderr)[:120])
    p = run("conform", "-a", FAILING, "--only", "calloc-overflow-null", "--repeat", "2",
            "-f", "json")
    res = json.loads(p.stdout)["results"][0] if p.stdout else {}
    ok(res.get("runs") == 3 and res.get("same") == 3 and
       not res.get("message", "").startswith("unstable"),
       "--repeat 2: a steady failure stays a plain failure, 3 of 3")
    usage_error(["conform", "--repeat", "0"], "--repeat")


def test_problems(no_errno):
    """One cause seen through several checks is one problem: the checks of errno on a failure
    share it, the summary counts problems and checks."""
    p = run("conform", "-a", no_errno, "-f", "json", "--only", "*-huge-enomem,*-overflow-enomem")
    fails = [r for r in json.loads(p.stdout)["results"] if r["verdict"] == "fail"]
    heads = {r["problem"] for r in fails}
    ok(len(fails) >= 5 and len(heads) == 1,
       "%d errno failures of one allocator are one problem (%s)" % (len(fails), sorted(heads)))
    h = run("conform", "-a", no_errno, "--only", "*-huge-enomem,*-overflow-enomem,calloc-zero*")
    ok("1 problem in %d failed checks" % len(fails) in h.stdout and
       h.stdout.count("FAIL ") == 1 and "the same failure in: " in h.stdout,
       "human output: one FAIL line for the problem, its other checks under it")


print("TAP version 13")
test_usage()
ids = test_list()
if ids:
    test_output(ids)
    test_matrix(ids)
test_exit_status(FAILING)
test_profiles(NO_ERRNO)
test_repeat(FLAKY)
test_problems(NO_ERRNO)
sys.exit(tap.done())
