#!/usr/bin/env python3
"""allocheck harden, end to end (TAP): the seeded allocators prove each outcome class is
decided right, the hand-checked outcomes of the real allocators stay pinned (each skipped when
its library is absent), and the command line keeps its contracts.
usage: test_harden.py ALLOCHECK SEEDED_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

ALLOCHECK, SEEDED = sys.argv[1], sys.argv[2]
# The real allocators' paths, as Meson found them (KNOWN_JEMALLOC=PATH, ...; meson.build).
REAL = {
    **{name: os.environ.get('KNOWN_' + name.upper(), '/nonexistent/' + name)
       for name in ('jemalloc', 'mimalloc', 'tcmalloc', 'scudo')},
}
ENV = dict(os.environ, MALLOC_PERTURB_='0')
tap = Tap(diag_lines=20)
ok, skip = tap.ok, tap.skip


def harden(*args):
    p = subprocess.run([ALLOCHECK, 'harden', '--no-properties', '-j', '2'] + list(args),
                       capture_output=True, text=True, env=ENV, timeout=600)
    return p


def outcomes(spec, only, runs=1):
    p = harden('-a', spec, '--only', only, '-f', 'json', '--runs', str(runs))
    if p.returncode != 0:
        return None, p.stderr
    d = json.loads(p.stdout)
    return {c['id']: c['results'][0] for c in d['cases']}, p.stderr


def seeded(name):
    return os.path.join(SEEDED, 'harden_seeded_%s.so' % name)


def expect(spec, case, want, text=None, label=None):
    res, err = outcomes(spec, case)
    got = res and res[case]
    good = got is not None and got['outcome'] == want and (text is None or text in got['message'])
    ok(good, '%s: %s is %s%s' % (label or spec, case, want, ' ("%s")' % text if text else ''),
       got or err)


# The seeded allocators: one per class.
expect(seeded('abort'), 'double-free-small', 'detected', 'seeded: double free', 'abort')
expect(seeded('guard'), 'one-mbyte-overflow-small', 'trapped', None, 'guard')
expect(seeded('guard'), '32-byte-underflow-big', 'trapped', None, 'guard')
expect(seeded('dup'), 'double-free-small', 'corrupted: duplicate', None, 'dup')
expect(seeded('dirty'), 'zero-on-malloc', 'leaked', None, 'dirty')
expect(seeded('dirty'), 'read-after-free-small', 'leaked', None, 'dirty')
# Without a quarantine even a correct allocator hands out a block the program freed while
# holding it again (the *-reuse cases) and gives back what a write after free left.
res, err = outcomes(seeded('clean'), '*')
inherent = ('-reuse', 'write-after-free-then-calloc')
bad = {k: v for k, v in (res or {}).items()
       if v['class'] in ('corrupted', 'leaked', 'error') and not any(i in k for i in inherent)}
ok(res is not None and not bad, 'clean: no case corrupted, leaked or an error', bad or err)
ok(res is not None and res['double-free-small']['outcome'] == 'detected',
   'clean: its double free is detected', res and res['double-free-small'])

# The hand-checked outcomes.
expect('system', 'double-free-small', 'detected', 'double free detected in tcache 2')
expect('system', 'invalid-free-stack', 'detected', 'free(): invalid pointer')
expect('system', 'overflow-small-8-byte', 'ignored')
HAND = {
    'scudo': [('double-free-small', 'detected', 'invalid chunk state when deallocating'),
              ('invalid-free-stack', 'detected', 'corrupted chunk header')],
    'tcmalloc': [('invalid-free-stack', 'detected', 'Attempt to free invalid pointer')],
    'jemalloc': [('double-free-pqp', 'corrupted: duplicate', None)],
}
for name, path in REAL.items():
    if not os.path.exists(path):
        skip('%s: hand-checked outcomes' % name, path + ' is not installed')
        continue
    for case, want, text in HAND.get(name, []):
        expect(path, case, want, text, name)
    res, err = outcomes(path, 'double-free-small,overflow-small-8-byte')
    ok(res is not None and res['double-free-small']['class'] != 'detected',
       '%s: the double free is not detected' % name, res or err) if name != 'scudo' else None
    ok(res is not None and res['overflow-small-8-byte']['class'] != 'detected',
       '%s: an 8-byte overflow of a 32-byte block is not detected at free' % name, res or err)

# The command line.
p = harden('-a', seeded('dup'), '--only', 'double-free-small', '--require', 'detected')
ok(p.returncode == 1, '--require detected exits 1 for a case not detected', p.stderr)
p = harden('-a', seeded('abort'), '--only', 'double-free-small', '--require', 'trapped')
ok(p.returncode == 0, '--require trapped accepts detected', p.stderr)
p = harden('-a', seeded('dup'), '--only', 'double-free-small,invalid-free-stack',
           '--require', 'detected:invalid-free-*')
ok(p.returncode == 1, '--require with a glob judges only the cases it names', p.stderr)
p = harden('-a', seeded('dup'), '--only', 'double-free-small', '--require', 'detected:zero-*')
ok(p.returncode == 0, '--require with a glob that names no case passes', p.stderr)
p = harden('--only', 'no-such-case')
ok(p.returncode == 2 and len(p.stderr.splitlines()) == 1, 'an empty selection is one line, exit 2',
   p.stderr)
p = harden('--require', 'maybe')
ok(p.returncode == 2 and len(p.stderr.splitlines()) == 1, 'a bad --require is one line, exit 2',
   p.stderr)
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, 'm.md')
    p = harden('-a', 'reference', '-a', seeded('dup'), '--only', 'double-free-*', '-f',
               'markdown', '-o', out)
    text = open(out).read() if os.path.exists(out) else ''
    ok(p.returncode == 0 and '| `double-free-small` |' in text and p.stdout == '',
       '-o writes the markdown matrix to the file', p.stderr + text[:400])
    ok(not [f for f in os.listdir(tmp) if f != 'm.md'], '-o leaves no temporary file',
       os.listdir(tmp))
    out = os.path.join(tmp, 'j.xml')
    p = harden('-a', seeded('dup'), '--only', 'double-free-small', '-f', 'junit', '-o', out)
    import xml.etree.ElementTree as ET
    try:
        root = ET.parse(out).getroot()
        fails = root.findall('.//failure')
    except Exception as e:  # noqa: BLE001 - any parse error fails the test
        fails = None
        p.stderr += str(e)
    ok(fails is not None and len(fails) == 1, 'junit: a corrupted case is a failure', p.stderr)
res, err = outcomes(seeded('dup'), 'double-free-small', runs=3)
ok(res is not None and res['double-free-small']['runs'] == 3 and
   res['double-free-small']['counts'].get('corrupted: duplicate') == 3,
   '--runs 3 runs each case three times and counts each outcome', res or err)
res, err = outcomes('reference', 'free-sized-double')
ok(res is not None, 'a case the allocator lacks nothing for runs', err)
res, err = outcomes(seeded('dup'), 'free-sized-double')
ok(res is not None and res['free-sized-double']['outcome'] == 'n/a' and
   'free_sized' in res['free-sized-double']['message'],
   'a case needing a missing function is n/a, naming it', res or err)
p = harden('--no-properties', '--format', 'json')
cases = json.loads(p.stdout)['cases'] if p.returncode == 0 else []
ok(len(cases) >= 100 and all(c['cite'] for c in cases) and
   len({c['id'] for c in cases}) == len(cases),
   'at least 100 cases, each with a unique id and a citation', '%d cases' % len(cases))

# Properties are extra rows; entropy is sampled in fresh exec'd processes.
p = subprocess.run([ALLOCHECK, 'harden', '-a', 'system', '--only', 'double-free-small', '-f',
                    'json'], capture_output=True, text=True, env=ENV, timeout=300)
props = {q['id']: q['values'][0] for q in json.loads(p.stdout)['properties']} \
    if p.returncode == 0 else {}
ok(len(props) >= 5 and all(v and not v.startswith('error') for v in props.values()),
   'every property is a row with a value', props or p.stderr)
ok(re.match(r'\d+ bits', props.get('entropy-bits', '')) is not None,
   'entropy is measured over fresh processes', props.get('entropy-bits'))

# Reproducers: written for the outcome the harness saw, compiled, and run, they see it again.
CC = os.environ.get('CC', 'cc')
with tempfile.TemporaryDirectory() as tmp:
    for spec, case in [(seeded('dup'), 'double-free-small'), (seeded('guard'), 'one-mbyte-overflow-small'),
                       (seeded('dirty'), 'zero-on-malloc'), (seeded('abort'), 'invalid-free-stack'),
                       ('system', 'double-free-small'), (seeded('clean'), 'double-free-cross-thread')]:
        src, exe = os.path.join(tmp, 'r.c'), os.path.join(tmp, 'r')
        res, _ = outcomes(spec, case)
        p = subprocess.run([ALLOCHECK, 'harden', '--repro', case, '-a', spec, '-o', src],
                           capture_output=True, text=True, env=ENV, timeout=120)
        c = subprocess.run([CC, '-Wall', '-Wextra', '-Werror', '-o', exe, src, '-ldl', '-lpthread'],
                           capture_output=True, text=True) if p.returncode == 0 else p
        r = subprocess.run([exe], capture_output=True, text=True, env=ENV, timeout=60) \
            if c.returncode == 0 else c
        want = res and res[case]['outcome']
        ok(res is not None and res[case]['repro'].startswith('allocheck harden --repro ' + case),
           'the JSON cell names its reproducer command', res)
        ok(r.returncode == 0 and ('outcome: %s\n' % want) in r.stdout,
           'the reproducer of %s on %s compiles warning-free and sees %s again' %
           (case, os.path.basename(spec), want), p.stderr + c.stderr + r.stdout + r.stderr)
p = harden('--repro', 'no-such-case', '-o', '/tmp/x.c')
ok(p.returncode == 2 and len(p.stderr.splitlines()) == 1, '--repro of an unknown case: one line, exit 2',
   p.stderr)
p = harden('--repro', 'double-free-small', '-a', 'reference', '-o', '/tmp/x.c')
ok(p.returncode == 2 and 'liballocheck-ref.so' in p.stderr and len(p.stderr.splitlines()) == 1,
   '--repro of the linked-in reference points at its shared build', p.stderr)

sys.exit(tap.done())
