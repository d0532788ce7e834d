#!/usr/bin/env python3
"""docs/CHECKS.md is generated from `allocheck list --format json`, never edited by hand.
  checks_md.py ALLOCHECK DOC          rewrite DOC from the registry
  checks_md.py --check ALLOCHECK DOC  TAP: fail (with a diff) when DOC is stale"""
import difflib
import json
import os
import subprocess
import sys

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
Profiles: c17 (C17 + POSIX.1-2024, default), c11, c23 (size-dependent alignment of small
blocks; realloc(p, 0) undefined), posix2024. Expected verdicts for the installed allocators
are in `tests/expect/`.
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
    print('1..1')
    if have == want:
        print('ok 1 - docs/CHECKS.md matches allocheck list')
        return 0
    print('not ok 1 - docs/CHECKS.md is stale: run tests/expect/checks_md.py ALLOCHECK '
          'docs/CHECKS.md')
    for line in difflib.unified_diff(have.splitlines(), want.splitlines(), 'CHECKS.md',
                                     'generated', lineterm=''):
        print('# ' + line)
    return 1


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
