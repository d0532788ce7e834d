#!/usr/bin/env python3
"""fuzz/fuzz_ops.dict, as TAP: every line is a comment, blank, or one quoted entry libFuzzer
reads (escapes \\\\, \\" and \\xNN only), and its binary-form values, put in a malloc record
and decoded by `allocheck trace`, are the sizes a blind campaign needs and the selector tables
lack: one unmeetable under the target's address-space limit (2^41..2^56), one just past 2^32
(a size cut to 32 bits), one a 2^63 alignment's padding wraps (PTRDIFF_MAX - 16 and up).

usage: dict_test.py ALLOCHECK DICT WORKDIR
Leaves out: what libFuzzer does with the entries."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

ALLOCHECK, DICT, WORK = sys.argv[1:4]
ENTRY = re.compile(r'^"((?:[^"\\]|\\\\|\\"|\\x[0-9a-fA-F]{2})*)"$')
tap = Tap()


def unescape(body):
    return re.sub(rb'\\(x[0-9a-fA-F]{2}|\\|")',
                  lambda m: bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x"
                  else m.group(1), body.encode("latin-1"))


bad, entries = [], []
with open(DICT, encoding="latin-1") as f:
    for n, line in enumerate(f.read().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = ENTRY.match(line)
        if m:
            entries.append(unescape(m.group(1)))
        else:
            bad.append(f"line {n}: {line}")
tap.ok(not bad, "every line is a comment, blank or one quoted entry", "\n".join(bad))

sizes = []
os.makedirs(WORK, exist_ok=True)
for k, e in enumerate(x for x in entries if x[:1] in (b"\xfe", b"\xff")):
    path = os.path.join(WORK, f"dict-entry-{k}.bin")
    with open(path, "wb") as f:
        f.write(b"\x7fACT\x01\x00\x00\x00" + b"\x00\x00" + e)   # malloc, slot 0, the value
    p = subprocess.run([ALLOCHECK, "trace", "-t", path], capture_output=True, text=True)
    ops = [l for l in p.stdout.splitlines() if l.startswith("malloc 0 ")]
    if p.returncode == 0 and len(ops) == 1:
        sizes.append(ops[0].split()[2])


def value(expr):
    """The trace's size expression (N, 2^K, a named constant, joined by + and -) as a number."""
    named = {"SIZE_MAX": 2**64 - 1, "PTRDIFF_MAX": 2**63 - 1, "PAGE": 4096}
    total = 0
    for sign, term in re.findall(r"([+-]?)([^+-]+)", expr):
        v = (2 ** int(term[2:]) if term.startswith("2^") else named[term] if term in named
             else int(term, 0))
        total += -v if sign == "-" else v
    return total


vals = [value(s) for s in sizes]
tap.ok(any(2**41 <= v < 2**57 for v in vals), "an unmeetable size (2^41..2^56)", sizes)
tap.ok(any(2**32 < v < 2**33 for v in vals), "a size just past 2^32", sizes)
tap.ok(any(2**63 - 16 <= v < 2**63 for v in vals), "a size a 2^63 alignment wraps", sizes)
sys.exit(tap.done())
