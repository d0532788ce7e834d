#!/usr/bin/env python3
"""Proves that a finding's C reproducer says what the tool says, printing TAP.

  agree.py ALLOCHECK SPEC fuzz ORACLE [SECONDS] [--OPT=V...]
      `allocheck fuzz --seed 1` must find ORACLE (alternatives split by '|'); its minimized
      trace is replayed and turned into a reproducer, compiled with cc and run from another
      directory: replay exits 1, the reproducer nonzero, and both name the same oracle.
      ORACLE "none": the fuzz run is clean, and a generated trace runs clean in both (the
      reproducer exits 0).
  agree.py ALLOCHECK SPEC trace 'OP;OP;...' TEXT
      a trace of those ops is a finding in replay and in the reproducer, and both messages
      contain TEXT (how a finding reads, e.g. "errno left unchanged").
  agree.py ALLOCHECK SPEC same 'OP;OP;...' clean|ORACLE [--OPT=V...]
      a trace of those ops runs clean in both, or is a finding of ORACLE in both.
  agree.py ALLOCHECK SPEC override 'OP;OP;...' OTHER.so
      the reproducer of a trace that fails on SPEC runs clean with ALLOCHECK_REPRO_LIB
      naming OTHER.so (a fixed build of the same allocator).
  agree.py ALLOCHECK SPEC real [SECONDS]
      `allocheck fuzz --seed 1 --keep-going` on an installed allocator: every distinct
      finding agrees as above; an allocator that does not load is skipped.
--OPT=V go to fuzz, replay and repro alike (checking options such as --hang=1).
Leaves out: judging the messages beyond the oracle (addresses differ between processes)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402


def run(argv, timeout=120, cwd=None, env=None):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, errors='replace',
                           timeout=timeout, cwd=cwd, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return 'timeout', str(e.stdout or ''), str(e.stderr or '')


def replay_oracle(out):
    m = re.search(r': (\S+) at op \d+', out)
    return m.group(1) if m else None


def repro_oracle(out):
    m = re.search(r'^FAIL (\S+) at op \d+', out, re.M)
    return m.group(1) if m else None


# Options that shape what fuzz generates; the trace it saves carries their effect, so replay
# and repro neither need nor take them.
FUZZ_ONLY = ('--warmup', '--big-heap')


class Job:
    def __init__(self, tap, exe, spec, opts, tmp):
        self.tap, self.exe, self.spec, self.tmp = tap, exe, spec, tmp
        self.fuzz_opts = opts
        self.opts = [o for o in opts if not o.split('=')[0] in FUZZ_ONLY]
        self.cc = shutil.which('cc')

    def reproducer(self, trace, env=None):
        """Writes, compiles and runs trace's reproducer from a fresh directory, not the one
        allocheck ran in. (rc, stdout) or None after a reported failure."""
        base = os.path.join(self.tmp, os.path.basename(trace))
        # A path relative to where allocheck runs: the program must not depend on it.
        spec = os.path.relpath(self.spec, self.tmp) if os.path.exists(self.spec) else self.spec
        rc, out, err = run([self.exe, 'repro', '-a', spec, *self.opts, trace,
                            '-o', base + '.c'], cwd=self.tmp)
        if not self.tap.ok(rc == 0, f"repro writes {os.path.basename(base)}.c", f"{rc} {err}"):
            return None
        rc, out, err = run([self.cc, '-Wall', '-Wextra', base + '.c', '-ldl', '-lpthread',
                            '-o', base + '.exe'])
        if not self.tap.ok(rc == 0, 'the reproducer compiles with cc', err[-2000:]):
            return None
        if err.strip():
            self.tap.diag('cc warnings:\n' + err[-2000:])
        elsewhere = tempfile.mkdtemp(dir=self.tmp, prefix='elsewhere-')
        rc, out, err = run([base + '.exe'], timeout=120, cwd=elsewhere, env=env)
        return rc, out + err

    def agree(self, trace, alts):
        """Replay and reproducer of a finding's trace agree on the oracle (one of alts)."""
        name = os.path.basename(trace)
        rc, out, err = run([self.exe, 'replay', '-a', self.spec, *self.opts, trace])
        want = replay_oracle(out)
        self.tap.ok(rc == 1 and want is not None, f"replay of {name} is a finding ({want})",
                    f"exit {rc}\n{out}{err}")
        if alts is not None:
            self.tap.ok(want in alts, f"replay names {'|'.join(alts)}", out)
        got = self.reproducer(trace)
        if got is None:
            return
        rc2, out2 = got
        self.tap.ok(rc2 != 0 and rc2 != 2, f"the reproducer fails (exit {rc2})", out2[-2000:])
        self.tap.ok(repro_oracle(out2) == want, f"the reproducer names {want}",
                    f"replay: {out.strip()}\nreproducer: {out2[-2000:]}")

    def write_ops(self, ops):
        trace = os.path.join(self.tmp, 'ops.trace')
        with open(trace, 'w') as f:
            f.write('# allocheck trace v1\n' + '\n'.join(ops.split(';')) + '\n')
        return trace

    def says(self, ops, text):
        """A trace of ops is a finding whose message, from replay and reproducer, has text."""
        trace = self.write_ops(ops)
        rc, out, err = run([self.exe, 'replay', '-a', self.spec, *self.opts, trace])
        self.tap.ok(rc == 1 and text in out, f"replay says '{text}'", f"exit {rc}\n{out}{err}")
        got = self.reproducer(trace)
        if got is not None:
            self.tap.ok(got[0] == 1 and text in got[1], f"the reproducer says '{text}'",
                        f"exit {got[0]}\n{got[1][-2000:]}")

    def same(self, ops, want):
        """A trace of ops is clean in both (want 'clean') or a finding of want in both."""
        trace = self.write_ops(ops)
        rc, out, err = run([self.exe, 'replay', '-a', self.spec, *self.opts, trace])
        got = replay_oracle(out) if rc == 1 else 'clean' if rc == 0 else None
        self.tap.ok(got == want, f"replay: {want}", f"exit {rc}\n{out}{err}")
        r = self.reproducer(trace)
        if r is not None:
            mine = 'clean' if r[0] == 0 else repro_oracle(r[1])
            self.tap.ok(mine == want, f"reproducer: {want}", f"exit {r[0]}\n{r[1][-2000:]}")

    def override(self, ops, other):
        """ALLOCHECK_REPRO_LIB loads another build of the allocator: the bug is gone."""
        trace = self.write_ops(ops)
        got = self.reproducer(trace)
        if got is not None:
            self.tap.ok(got[0] == 1, 'the reproducer fails on the allocator it was written for',
                        got[1][-2000:])
        env = dict(os.environ, ALLOCHECK_REPRO_LIB=os.path.abspath(other))
        got = self.reproducer(trace, env)
        if got is not None:
            self.tap.ok(got[0] == 0 and 'no failure' in got[1],
                        f"with ALLOCHECK_REPRO_LIB={os.path.basename(other)} it runs clean",
                        f"exit {got[0]}\n{got[1][-2000:]}")

    def clean(self):
        """A generated workload runs clean in replay and in the reproducer."""
        trace = os.path.join(self.tmp, 'clean.trace')
        rc, out, err = run([self.exe, 'generate', '--seed', '1', '--ops', '3000',
                            '--threads', '3', '-o', trace])
        if not self.tap.ok(rc == 0, 'generate writes a workload', err):
            return
        rc, out, err = run([self.exe, 'replay', '-a', self.spec, *self.opts, trace])
        self.tap.ok(rc == 0, 'the workload replays clean', f"exit {rc}\n{out}{err}")
        got = self.reproducer(trace)
        if got is not None:
            self.tap.ok(got[0] == 0 and 'no failure' in got[1],
                        f"its reproducer runs clean (exit {got[0]})", got[1][-2000:])

    def fuzz(self, seconds, keep_going):
        out_dir = os.path.join(self.tmp, 'out')
        argv = [self.exe, 'fuzz', '-a', self.spec, '--seed', '1', '--time', str(seconds),
                '--out', out_dir, *self.fuzz_opts] + (['--keep-going'] if keep_going else [])
        rc, out, err = run(argv, timeout=seconds * 4 + 120)
        self.tap.diag(' '.join(argv[1:]) + f": exit {rc}")
        return rc, sorted(glob.glob(os.path.join(out_dir, '*.min.trace'))), out + err


def loads(exe, spec):
    rc, _, _ = run([exe, 'allocators', '-a', spec], timeout=60)
    return rc == 0


def main(argv):
    fixed = ('trace', 'same', 'override')   # modes that run one fixed trace
    if len(argv) < 4 or argv[3] not in ('fuzz', 'real') + fixed \
            or (argv[3] == 'fuzz' and len(argv) < 5) or (argv[3] in fixed and len(argv) < 6):
        print(__doc__, file=sys.stderr)
        return 2
    exe, spec, mode = argv[1], argv[2], argv[3]
    rest = argv[4 if mode == 'real' else 5 if mode == 'fuzz' else 6:]
    opts = [r for r in rest if r.startswith('--')]
    secs = [int(r) for r in rest if not r.startswith('--')]
    tap = Tap()
    if not shutil.which('cc'):
        Tap.skip_all('no cc')
    if mode == 'real' and not loads(exe, spec):
        Tap.skip_all(f'{spec} is not installed')
    with tempfile.TemporaryDirectory(prefix='allocheck-agree-') as tmp:
        job = Job(tap, os.path.abspath(exe), spec, opts, tmp)
        if mode in fixed:
            check = {'trace': job.says, 'same': job.same, 'override': job.override}[mode]
            check(argv[4], argv[5])
            return tap.done()
        oracle = argv[4] if mode == 'fuzz' else None
        rc, found, summary = job.fuzz(secs[0] if secs else 10, mode == 'real')
        if oracle == 'none':
            tap.ok(rc == 0 and not found, 'fuzz runs clean', summary[-2000:])
            job.clean()
        elif mode == 'fuzz':
            if tap.ok(rc == 1 and found, 'fuzz finds something', summary[-2000:]):
                job.agree(found[0], oracle.split('|'))
        else:
            tap.ok(rc in (0, 1), f"fuzz ran ({len(found)} findings)", summary[-2000:])
            for trace in found:
                job.agree(trace, None)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
