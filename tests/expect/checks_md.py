#!/usr/bin/env python3
"""docs/CHECKS.md is generated from `allocheck list --format json`, never edited by hand.
  checks_md.py ALLOCHECK DOC          rewrite DOC from the registry
  checks_md.py --check ALLOCHECK DOC  TAP: fail (with a diff) when DOC is stale"""
import difflib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

HEADER = """# Conformance checks

Generated from `allocheck list --format json` (the registry in `conformance/checks.h`) by
`tests/expect/checks_md.py`; the `checks-md-fresh` test fails when this file is stale.
Each check is one property of one function and cites the clause it rests on. Verdicts:
**pass**, **fail** (a requirement broken), **divergence** (implementation-defined or
undefined territory, reported as behaviour; also an abort inside a report-only check, the
allocator enforcing a documented precondition), **skip** (a needed function is absent), and
**info** for the checks marked "(reported)" and the other report-only checks: they describe what
the allocator does where the clause leaves it a choice, cannot pass, and are not counted as
passes; their findings are in the behaviour profile.

Profiles: **posix2024** (the default: C17 plus POSIX.1-2024's own requirements: errno ENOMEM or
EINVAL on every failure, free leaving errno alone, `realloc(p, 0)` returning NULL with EINVAL;
allocheck loads allocators into POSIX programs, which rely on these), and ISO C alone: **c17**,
**c11** (aligned_alloc sizes must be multiples of the alignment), **c23** (size-dependent
alignment of small blocks; `realloc(p, 0)` undefined). Under the ISO profiles a check of errno
alone is skipped and an errno requirement inside another check is reported as behaviour.
Expected verdicts of every installed allocator under every profile are in
`tests/expect/<allocator>.<profile>.txt`.

Declarations (descriptor fields and flags, or SPEC options such as
`PATH.so:heap=256K,min-align=8,max-align=4K,no-errno,delayed-reuse`) make checks adapt:
`no-errno` treats errno as under an ISO profile; `min-align` lowers the alignment owed to
malloc-like blocks; `delayed-reuse` (a quarantine) turns "freed memory did not come back at once"
into behaviour; `heap` (a fixed heap) turns a check's failure to get memory for its own working
set into a skip that says so.

Large alignments, one rule for these checks and the fuzzer: a request for a valid power-of-two
alignment that the allocator refuses is a failure when the allocator declared a `max-align` at
least that large, or, with none declared, when the alignment is at most 64 KiB (every
general-purpose allocator here serves those). Above a declared `max-align` a refusal is
behaviour; above 64 KiB with none declared it is a divergence: C17 7.22.3.1p2 lets an
implementation refuse an alignment it does not support, and declaring `max-align` says so.
"""


def cell(text):
    return text.replace('|', '\\|')


def render(tool):
    run = subprocess.run([tool, 'list', '--format', 'json'], capture_output=True, text=True,
                         check=True, timeout=60)
    checks = json.loads(run.stdout)
    out = [HEADER, f'{len(checks)} checks.\n', '| id | function | clause | property |',
           '| --- | --- | --- | --- |']
    for c in checks:
        out.append(f"| `{c['id']}` | {cell(c['function'])} | {cell(c['clause'])} | "
                   f"{cell(c['description'])} |")
    return '\n'.join(out) + '\n'


def check(tool, doc):
    want = render(tool)
    with open(doc) as f:
        have = f.read()
    tap = Tap()
    diff = difflib.unified_diff(have.splitlines(), want.splitlines(), 'CHECKS.md', 'generated',
                                lineterm='')
    tap.ok(have == want, 'docs/CHECKS.md matches allocheck list' if have == want else
           'docs/CHECKS.md is stale: run tests/expect/checks_md.py ALLOCHECK docs/CHECKS.md',
           '\n'.join(diff))
    return tap.done()


def main(argv):
    if len(argv) == 4 and argv[1] == '--check':
        return check(argv[2], argv[3])
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    text = render(argv[1])
    tmp = argv[2] + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
