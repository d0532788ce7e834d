#!/usr/bin/env python3
"""Runs props_driver and checks each measured hardening property (TAP).
  check_props.py DRIVER toys BUILDDIR   the toy allocators: every property as constructed
  check_props.py DRIVER real            reference, system and the installed real allocators:
                                        every property measured, the known ones as known"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

TOYS = {
    'lifo': {'reuse-distance': 'LIFO', 'adjacency': r'\+64 B', 'guard-pages': 'no',
             'zero-on-free': 'no', 'zero-on-malloc': 'no',
             'metadata': 'free list in block', 'executable-heap': 'no',
             'entropy-bits': r'[1-9]\d* bits, 0 below the page'},
    'fifo': {'reuse-distance': 'FIFO', 'metadata': 'out of band', 'guard-pages': 'no',
             'zero-on-free': 'no', 'zero-on-malloc': 'no'},
    'quarantine': {'reuse-distance': 'quarantine 8', 'metadata': 'out of band',
                   'zero-on-malloc': 'no'},
    'guard': {'reuse-distance': 'LIFO', 'guard-pages': 'yes, after', 'metadata': 'out of band'},
    'zero': {'reuse-distance': 'LIFO', 'adjacency': r'\+80 B', 'zero-on-free': 'yes',
             'zero-on-malloc': 'yes', 'metadata': 'inline header 16 B',
             'executable-heap': 'yes', 'entropy-bits': '0 bits, 0 below the page',
             'guard-pages': 'no'},
}

# The real allocators' paths, as Meson found them (KNOWN_JEMALLOC=PATH, ...; meson.build).
REAL = {
    'reference': 'reference',
    'system': 'system',
    **{name: os.environ.get('KNOWN_' + name.upper(), '/nonexistent/' + name)
       for name in ('jemalloc', 'mimalloc', 'tcmalloc', 'scudo')},
}

# What is known of the real allocators without measuring (their sources' documented design).
KNOWN = {
    'reference': {'reuse-distance': 'LIFO', 'zero-on-free': 'no', 'executable-heap': 'no',
                  'metadata': 'inline header 8 B, free list in block', 'guard-pages': 'no'},
    'system': {'reuse-distance': 'LIFO', 'zero-on-free': 'no', 'zero-on-malloc': 'no',
               'metadata': 'inline header 8 B, free list in block', 'executable-heap': 'no'},
    'jemalloc': {'metadata': 'out of band', 'executable-heap': 'no', 'zero-on-free': 'no'},
    'mimalloc': {'metadata': 'free list in block', 'executable-heap': 'no',
                 'reuse-distance': r'quarantine \d+'},
    'tcmalloc': {'metadata': 'free list in block', 'executable-heap': 'no'},
    'scudo': {'metadata': 'inline header 16 B', 'guard-pages': 'yes, after',
              'adjacency': 'scattered', 'entropy-bits': r'\d+ bits, [1-9]\d* below the page'},
}

tap = Tap()


def measure(driver, spec):
    r = subprocess.run([driver, spec], capture_output=True, text=True, timeout=120)
    rows = dict(line.split('\t', 1) for line in r.stdout.splitlines() if '\t' in line)
    return r.returncode, rows


def check(name, rows, want):
    for prop, value in rows.items():
        tap.ok(not value.startswith('error'), '%s %s measured: %s' % (name, prop, value))
    for prop, pattern in want.items():
        got = rows.get(prop, '(missing)')
        tap.ok(re.fullmatch(pattern, got) is not None,
           '%s %s is %r (want %r)' % (name, prop, got, pattern))


def main():
    driver, mode = sys.argv[1], sys.argv[2]
    if mode == 'toys':
        for toy, want in TOYS.items():
            rc, rows = measure(driver, os.path.join(sys.argv[3], 'harden_toy_%s.so' % toy))
            tap.ok(rc == 0 and len(rows) == 8, 'toy %s: driver ran (status %d)' % (toy, rc))
            check('toy ' + toy, rows, want)
    else:
        for name, spec in REAL.items():
            if spec.startswith('/') and not os.path.exists(spec):
                tap.skip(name, 'not installed')
                continue
            rc, rows = measure(driver, spec)
            tap.ok(rc == 0 and len(rows) == 8, '%s: driver ran (status %d)' % (name, rc))
            check(name, rows, KNOWN.get(name, {}))
    return tap.done()


sys.exit(main())
