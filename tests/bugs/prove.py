#!/usr/bin/env python3
"""Proves that allocheck catches one seeded-bug allocator, printing TAP.

  prove.py ALLOCHECK PLUGIN.so conform [--OPT=V...] [GLOB...]   every GLOB (alternatives
      split by '|') must match a check with verdict "fail", and the exit status must be 1; with
      no GLOB the run must be clean: exit 0 and no "fail" at all. --OPT=V go to allocheck.
  prove.py ALLOCHECK PLUGIN.so fuzz ORACLE [SECONDS] [--OPT=V...]   (options go to allocheck)
      `allocheck fuzz` must exit 1 with a
      finding file ORACLE-*.trace and name the oracle in its summary (ORACLE may list
      alternatives split by '|'); ORACLE "none" means a clean run of SECONDS (exit 0).
Time-to-detect is printed as a TAP diagnostic. Leaves out: judging which finding is "best"."""
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402


def run(argv, timeout):
    start = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or b'', e.stderr or b'', 'timeout'
    return rc, out.decode(errors='replace'), err.decode(errors='replace'), \
        time.monotonic() - start


def tail(text, n=12):
    return '\n'.join(text.rstrip().splitlines()[-n:])


def prove_conform(tap, exe, plugin, globs):
    opts = [g for g in globs if g.startswith('--')]
    globs = [g for g in globs if not g.startswith('--')]
    rc, out, err, secs = run([exe, 'conform', '-a', plugin, '--format', 'json'] + opts, 300)
    tap.diag(f"allocheck conform -a {os.path.basename(plugin)}: exit {rc} in {secs:.1f} s")
    try:
        results = json.loads(out)['results']
    except (ValueError, KeyError, TypeError) as e:
        tap.ok(False, 'conform prints a JSON report with "results"',
               f"{e}\nstdout: {tail(out)}\nstderr: {tail(err)}")
        return
    failed = [r for r in results if r.get('verdict') == 'fail']
    for r in failed:
        tap.diag(f"fail {r.get('id')}: {r.get('message', '')[:200]}")
    if not globs:
        tap.ok(rc == 0, 'clean allocator: conform exits 0', f"exit {rc}\n{tail(err)}")
        tap.ok(not failed, 'clean allocator: no check fails',
               ', '.join(r.get('id', '?') for r in failed))
        return
    tap.ok(rc == 1, 'conform exits 1', f"exit {rc}\n{tail(err)}")
    for g in globs:
        alts = g.split('|')
        hit = [r['id'] for r in failed if any(fnmatch.fnmatchcase(r.get('id', ''), a)
                                               for a in alts)]
        tap.ok(bool(hit), f"a check matching {g} fails" + (f" ({hit[0]})" if hit else ''))


def prove_fuzz(tap, exe, plugin, oracle, seconds, opts):
    with tempfile.TemporaryDirectory(prefix='allocheck-bugs-') as out_dir:
        argv = [exe, 'fuzz', '-a', plugin, '--seed', '1', '--time', str(seconds),
                '--out', out_dir] + opts
        wall0 = time.time()
        rc, out, err, secs = run(argv, seconds * 3 + 60)
        name = os.path.basename(plugin)
        tap.diag(f"allocheck fuzz -a {name} --seed 1 --time {seconds} {' '.join(opts)}: "
                 f"exit {rc} in {secs:.1f} s")
        found = sorted(os.path.basename(f) for f in glob.glob(os.path.join(out_dir, '*.trace')))
        if oracle == 'none':
            tap.ok(rc == 0, f"clean allocator fuzzes clean for {seconds} s",
                   f"exit {rc}\nfindings: {found}\n{tail(out)}\n{tail(err)}")
            return
        alts = oracle.split('|')
        tap.ok(rc == 1, 'fuzz exits 1 (a finding)', f"exit {rc}\n{tail(out)}\n{tail(err)}")
        hits = [f for f in found if any(f.startswith(a + '-') for a in alts)]
        tap.ok(bool(hits), f"a finding file {oracle}-*.trace exists",
               f"findings: {found}\n{tail(out)}\n{tail(err)}")
        summary = out + err
        tap.ok(any(a in summary for a in alts), f"the summary names {oracle}", tail(summary))
        # A race shows only in some interleavings: what the tool owes is its rate, measured
        # from fresh processes (0 of N is an honest answer on a loaded machine).
        racy = re.search(r'reproduced \d+/\d+ from a fresh process \(its threads run at once',
                         summary)
        tap.ok('did not reproduce' not in summary or racy,
               'the finding reproduces from a fresh process, or is a race reported with its rate',
               tail(summary))
        first = [f for f in hits if not f.endswith('.min.trace')] or hits
        if first:
            # The raw finding is saved before minimizing (docs/ARCHITECTURE.md, Engines): its
            # mtime is detection.
            ttd = os.path.getmtime(os.path.join(out_dir, first[0])) - wall0
            tap.diag(f"time-to-detect: {ttd:.2f} s ({first[0]}); whole run {secs:.2f} s")


def main(argv):
    if len(argv) < 4 or argv[3] not in ('conform', 'fuzz'):
        print(__doc__, file=sys.stderr)
        return 2
    exe, plugin, mode, rest = argv[1], argv[2], argv[3], argv[4:]
    tap = Tap()
    if mode == 'conform':
        prove_conform(tap, exe, plugin, rest)
    else:
        if not rest:
            print(__doc__, file=sys.stderr)
            return 2
        opts = [r for r in rest[1:] if r.startswith('--')]
        secs = [int(r) for r in rest[1:] if not r.startswith('--')]
        prove_fuzz(tap, exe, plugin, rest[0], secs[0] if secs else 10, opts)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
