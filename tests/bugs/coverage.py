#!/usr/bin/env python3
"""Prints the per-check mutation coverage of the seeded bugs.

  coverage.py ALLOCHECK [ROWS] [--min=N]
ROWS (default: tests/bugs/bug_rows.tsv in ALLOCHECK's build tree, next to bug_none.so, written by meson from the
three manifests) holds one line per seeded-bug test: the plugin, then the check-id globs that
must fail. A check counts as covered only when a glob names it alone: prove.py needs just one
fail per glob, so `threads-*` or `a|b` promises no particular check. Checks that only report
(verdict `info` on the clean base allocator) cannot fail and are left out. Exits 1 when fewer
than N (default: all) failable checks are covered. Leaves out: running the bugs (prove.py)."""
import fnmatch
import json
import os
import subprocess
import sys


class Bad(Exception):
    pass


def allocheck_json(argv):
    try:
        out = subprocess.run(argv, capture_output=True, timeout=300)
        return json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        raise Bad(f"{' '.join(argv[:4])}: no JSON report ({e})") from e


def check_ids(exe):
    return [c['id'] for c in allocheck_json([exe, 'list', '--format', 'json'])]


def info_ids(exe, clean):
    report = allocheck_json([exe, 'conform', '-a', clean, '--format', 'json'])
    return {r['id'] for r in report.get('results', []) if r.get('verdict') == 'info'}


def read_rows(path):
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            cols = [c for c in line.rstrip('\n').split('\t') if c]
            if cols:
                rows.append((cols[0], [g for g in cols[1:] if not g.startswith('--')]))
    return rows


def coverage(ids, rows):
    by_id = {i: [] for i in ids}
    for plugin, globs in rows:
        for g in globs:
            hits = [i for i in ids if any(fnmatch.fnmatchcase(i, a) for a in g.split('|'))]
            if len(hits) == 1:
                by_id[hits[0]].append(plugin)
    return by_id


def main(argv):
    args = [a for a in argv[1:] if not a.startswith('--min=')]
    mins = [int(a[6:]) for a in argv[1:] if a.startswith('--min=')]
    if not 1 <= len(args) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = args[0]
    build = os.path.dirname(os.path.dirname(os.path.abspath(exe)))
    rows_path = args[1] if len(args) > 1 else os.path.join(build, 'tests', 'bugs', 'bug_rows.tsv')
    try:
        rows = read_rows(rows_path)
    except OSError as e:
        print(f"coverage.py: {rows_path}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        ids = check_ids(exe)
        skip = info_ids(exe, os.path.join(build, 'tests', 'bugs', 'bug_none.so'))
    except Bad as e:
        print(f"coverage.py: {e}", file=sys.stderr)
        return 2
    failable = [i for i in ids if i not in skip]
    by_id = coverage(failable, rows)
    for i in failable:
        print(f"{i}: {', '.join(by_id[i]) if by_id[i] else 'NOT COVERED'}")
    n, m = sum(1 for i in failable if by_id[i]), len(failable)
    print(f"{n} of {m} failable checks covered ({100.0 * n / m:.1f} %); "
          f"{len(skip)} report-only checks left out")
    return 0 if n >= (mins[0] if mins else m) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
