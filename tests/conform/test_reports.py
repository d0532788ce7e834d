#!/usr/bin/env python3
"""Parses every conformance report format with a real parser (TAP output).
argv: the report_demo binary. Its results hold an allocator's worst last words: quotes,
markup, control characters, invalid UTF-8, '#' and line breaks."""
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

DEMO = sys.argv[1]
tap = Tap()
ok = tap.ok


def report(fmt, *extra):
    out = subprocess.run([DEMO, fmt, *extra], stdout=subprocess.PIPE, check=True).stdout
    return out


def test_json():
    doc = json.loads(report("json").decode("utf-8"))
    ok(set(doc) == {"allocheck", "profile", "allocators", "results"}, "json: top-level keys")
    ok(doc["profile"] == "c17", "json: profile")
    ok(all(set(a) == {"spec", "name", "path", "functions"} for a in doc["allocators"]),
       "json: allocator keys")
    ok(doc["allocators"][0]["functions"] == ["malloc", "free"], "json: present functions")
    keys = {"allocator", "id", "function", "clause", "verdict", "message", "behaviour"}
    ok(len(doc["results"]) == 8 and
       all(set(r) == keys | ({"problem"} if r["verdict"] == "fail" else set())
           for r in doc["results"]),
       "json: 8 results with exactly the documented keys (a failure also names its problem)")
    ok([r["verdict"] for r in doc["results"][:4]] == ["pass", "fail", "divergence", "skip"],
       "json: verdict names")
    nasty = doc["results"][4]["message"]
    ok('"bad" <free> & \x01\x1b[31m' in nasty and "\ufffd" in nasty and "caf\u00e9" in nasty
       and "\nlast words" in nasty, "json: escapes controls, keeps UTF-8, replaces bad bytes")


def test_junit():
    root = ET.fromstring(report("junit"))
    suites = root.findall("testsuite")
    ok(root.tag == "testsuites" and len(suites) == 2, "junit: two testsuites")
    ok(len(root.findall("./testsuite/testcase")) == 8, "junit: eight testcases")
    fails = root.findall("./testsuite/testcase/failure")
    ok(len(fails) == 2 and suites[0].get("failures") == "1", "junit: failures counted")
    ok(len(root.findall("./testsuite/testcase/skipped")) == 2, "junit: skipped elements")
    ok('"bad" <free> &' in fails[1].get("message") and "\n" in fails[1].get("message"),
       "junit: message escaped and its line break kept")
    ok(suites[1].get("name") == '/x/lib"odd".so', "junit: suite named by the spec")


def test_tap():
    prove = os.environ.get("PROVE", "")
    if not prove:
        for what in ("no parse errors", "2 of 8 failed", "the two skips"):
            ok(True, f"tap: prove sees {what} # SKIP prove not found")
        return
    with tempfile.NamedTemporaryFile(suffix=".tap") as f:
        f.write(report("tap"))
        f.flush()
        p = subprocess.run([prove, "-e", "cat", f.name], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
    ok("Parse errors" not in p.stdout, "tap: prove finds no parse errors")
    ok(re.search(r"Failed 2/8 subtests", p.stdout) is not None, "tap: prove counts 2 of 8 failed")
    ok("less 2 skipped subtests" in p.stdout, "tap: prove sees the two skips")


def test_markdown():
    text = report("markdown").decode("utf-8")
    rows = [l for l in text.splitlines() if l.startswith("|")]
    cells = [len(re.findall(r"(?<!\\)\|", l)) for l in rows]
    ok(rows and "| check | function | clause |" in text, "markdown: results table")
    tables = text.split("\n\n")
    good = all(len({len(re.findall(r"(?<!\\)\|", l)) for l in t.splitlines()
                    if l.startswith("|")}) <= 1 for t in tables)
    ok(good and len(cells) > 10, "markdown: every row of a table has the header's columns")


def test_human():
    out = report("human")
    text = out.decode("utf-8")
    ok(b"\x1b" not in out and b"\x01" not in out, "human: no raw control bytes")
    ok("Matrix" in text and "calloc-overflow" in text and "lacks:" in text,
       "human: functions, matrix and failures")
    one = report("human", "one").decode("utf-8")
    ok("Matrix" not in one and one.index("FAIL") < one.index("DIV"),
       "human: one allocator, failures before divergences")


def test_list():
    doc = json.loads(report("list"))
    ok(len(doc) == 4 and all(set(c) == {"id", "function", "clause", "description"} for c in doc),
       "list json keys")


print("TAP version 13")
for t in (test_json, test_junit, test_tap, test_markdown, test_human, test_list):
    try:
        t()
    except Exception as e:  # a parser error is a failed test, not a crashed script
        ok(False, "%s raised %r" % (t.__name__, e))
sys.exit(tap.done())
