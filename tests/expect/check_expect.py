#!/usr/bin/env python3
"""Runs `allocheck conform -a SPEC --format json` and compares every check's verdict with an
expectation file (`id verdict` per line, `#` comments). TAP output: one test per check, a
diff of the differences; `1..0 # SKIP` when the allocator's .so is not installed."""
import json
import os
import subprocess
import sys


def load_expect(path):
    want = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                cid, verdict = line.split()
                want[cid] = verdict
    return want


def main():
    tool, spec, expect = sys.argv[1:4]
    lib = spec.split(':', 1)[0]
    if lib.startswith('/') and not os.path.exists(lib):
        print(f'1..0 # SKIP {lib} is not installed')
        return 0
    run = subprocess.run([tool, 'conform', '-a', spec, '--format', 'json'],
                         capture_output=True, text=True, timeout=120)
    if run.returncode not in (0, 1):
        print('1..1\nnot ok 1 - allocheck conform exited %d: %s' % (run.returncode,
                                                                     run.stderr.strip()))
        return 1
    got = {r['id']: r for r in json.loads(run.stdout)['results']}
    want = load_expect(expect)
    ids = sorted(set(got) | set(want))
    print(f'1..{len(ids)}')
    bad = 0
    for n, cid in enumerate(ids, 1):
        g = got.get(cid, {}).get('verdict', 'missing')
        w = want.get(cid, 'missing')
        if g == w:
            print(f'ok {n} - {cid} {g}')
            continue
        bad += 1
        msg = got.get(cid, {}).get('message', '')
        print(f'not ok {n} - {cid}: expected {w}, got {g}')
        print(f'# - {cid} {w}\n# + {cid} {g}  ({msg})')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
