#!/usr/bin/env python3
"""What refalloc's misuse checks cost: the refalloc benchmark's workload (`refalloc_bench
--run THREADS`) under the checked build of the reference allocator and under its REF_CHECKS=0
build, interleaved so both see the same load, RUNS times each on 1, 2 and 4 threads; prints
the medians of wall and CPU (user + system) seconds and their ratios, checked over unchecked.
First makes sure of what it measures: a double free (MISUSE) must abort under CHECKED and
exit 0 under UNCHECKED, and every run's malloc must come from the library it was given.
`--verify` stops after that (the test suite's check that the flag removes the checks).

Usage: refalloc_checks.py BENCH MISUSE CHECKED.so UNCHECKED.so [RUNS | --verify]"""
import os
import statistics
import subprocess
import sys


def preloaded(so, argv, **kw):
    env = dict(os.environ, LD_PRELOAD=so)
    return subprocess.Popen(argv, env=env, **kw)


def catches_double_free(misuse, so):
    p = preloaded(so, [misuse], stderr=subprocess.DEVNULL)
    return p.wait() != 0


def one_run(bench, so, threads):
    """(wall seconds, CPU seconds) of one run; exits 1 if malloc came from elsewhere."""
    p = preloaded(so, [bench, '--run', str(threads)], stdout=subprocess.PIPE)
    out = p.stdout.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    fields = out.split()
    if status or len(fields) != 4:
        sys.exit('refalloc_checks: a run under %s failed' % so)
    if os.path.realpath(fields[3]) != os.path.realpath(so):
        sys.exit('refalloc_checks: a run meant for %s used %s' % (so, fields[3]))
    return float(fields[0]), ru.ru_utime + ru.ru_stime


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    bench, misuse, checked, unchecked = sys.argv[1:5]
    extra = sys.argv[5] if len(sys.argv) == 6 else '7'
    if not catches_double_free(misuse, checked):
        print('refalloc_checks: %s: a double free went unnoticed; not the checked build'
              % checked, file=sys.stderr)
        return 2
    if catches_double_free(misuse, unchecked):
        print('refalloc_checks: %s: a double free was caught; not the REF_CHECKS=0 build'
              % unchecked, file=sys.stderr)
        return 2
    if extra == '--verify':
        print('ok: %s checks, %s does not' % (checked, unchecked))
        return 0
    if not extra.isdigit() or int(extra) < 1:
        print('refalloc_checks: RUNS: %r is no positive number' % extra, file=sys.stderr)
        return 2
    runs = int(extra)
    print('%-7s %10s %10s %6s %10s %10s %9s' % ('threads', 'off wall s', 'on wall s', 'ratio',
                                                'off cpu s', 'on cpu s', 'cpu ratio'))
    for threads in (1, 2, 4):
        off, on = [], []
        for _ in range(runs):
            off.append(one_run(bench, unchecked, threads))
            on.append(one_run(bench, checked, threads))
        ow, oc = (statistics.median(x[i] for x in off) for i in (0, 1))
        nw, nc = (statistics.median(x[i] for x in on) for i in (0, 1))
        print('%-7d %10.3f %10.3f %6.3f %10.3f %10.3f %9.3f'
              % (threads, ow, nw, nw / ow, oc, nc, nc / oc), flush=True)
    return 0


sys.exit(main())
