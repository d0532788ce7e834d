"""The hostile-input suite's harness: runs allocheck as a user would and checks the contract
every case shares -- the exit status, one line on stderr naming the input, nothing left running,
nothing lost or half-written.

Every process of a run carries ALLOCHECK_HOSTILE_TAG=<random> in its environment (children
inherit it, even those that leave the process group or the session), so survivors are found by
that tag in /proc, never by name: other allocheck runs may share the machine.
Leaves out: the cases themselves (cases_<group>.py, one module per group)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402


class Suite:
    def __init__(self, exe, plugin_dir):
        self.exe = exe
        self.plugins = plugin_dir
        self.tmp = tempfile.mkdtemp(prefix="allocheck-hostile-")
        # Deferred: a case may amend its last result (cases_input.expect).
        self._tap = Tap(diag_lines=12, deferred=True)
        self.results = self._tap.results

    # ---- reporting ----
    def check(self, name, cond, diag=""):
        return self._tap.ok(cond, name, diag)

    def tap(self):
        return self._tap.done()

    # ---- paths ----
    def plugin(self, variant):
        return os.path.join(self.plugins, f"hostile_{variant}.so")

    def path(self, name):
        return os.path.join(self.tmp, name)

    def trace(self, name, seed, ops):
        """A clean generated workload trace, written once per suite under name."""
        path = self.path(name)
        if not os.path.exists(path):
            r = self.run(["generate", "--seed", str(seed), "--ops", str(ops), "-o", path])
            self.check(f"generate {name}", r.rc == 0, r.err)
        return path

    # ---- running ----
    def start(self, args, cwd=None, env=None):
        tag = uuid.uuid4().hex
        e = dict(os.environ)
        e.update(env or {})
        e["ALLOCHECK_HOSTILE_TAG"] = tag
        # A session of its own: a plugin's kill(0, ...) that escapes allocheck's grip must
        # not take the harness with it.
        p = subprocess.Popen([self.exe] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             cwd=cwd or self.tmp, env=e, start_new_session=True)
        p.tag = tag
        return p

    def finish(self, p, timeout):
        try:
            out, err = p.communicate(timeout=timeout)
            # Before reap_tagged's look through /proc, which takes long on a busy machine.
            p.ended = time.monotonic()
            hung = False
        except subprocess.TimeoutExpired:
            # Survivors holding the pipes would keep communicate() waiting for EOF forever.
            p.kill()
            survivors = reap_tagged(p.tag)
            out, err = p.communicate()
            return Result(p.returncode, out, err, True, survivors)
        return Result(p.returncode, out, err, hung, reap_tagged(p.tag))

    def run(self, args, timeout=60, **kw):
        return self.finish(self.start(args, **kw), timeout)

    def interrupt(self, args, sig, after, timeout=30, **kw):
        """Starts allocheck, waits until after(elapsed_s, proc) is true (a phase reached),
        sends sig, and returns the result with how long the exit took after the signal."""
        p = self.start(args, **kw)
        t0 = time.monotonic()
        while p.poll() is None and not after(time.monotonic() - t0, p):
            time.sleep(0.02)
        sent = time.monotonic()
        if p.poll() is None:
            p.send_signal(sig)
        r = self.finish(p, timeout)
        r.exit_after_signal = getattr(p, "ended", time.monotonic()) - sent
        return r

    # ---- the shared contract ----
    def expect(self, name, r, rc, needle=None, stdout_empty=None):
        """rc: the exit status wanted. needle: for rc 2, the one stderr line must contain it."""
        problems = []
        if r.hung:
            problems.append("did not exit in time")
        if r.rc != rc:
            problems.append(f"exit {r.rc}, wanted {rc}")
        if rc == 2:
            lines = r.err.splitlines()
            if len(lines) != 1:
                problems.append(f"{len(lines)} stderr lines, wanted 1")
            if needle and needle not in r.err:
                problems.append(f"stderr lacks {needle!r}")
        if stdout_empty and r.out:
            problems.append("stdout not empty")
        if r.survivors:
            problems.append(f"{len(r.survivors)} process(es) survived: {r.survivors}")
        self.check(name, not problems, "; ".join(problems) + "\nstderr: " + r.err[-600:])
        return not problems


def parses_json(text):
    """Whether text is one JSON document (a report nothing else wrote into)."""
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


class Result:
    def __init__(self, rc, out, err, hung, survivors):
        self.rc = rc
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")
        self.hung = hung
        self.survivors = survivors
        self.exit_after_signal = None


def tagged_pids(tag):
    needle = f"ALLOCHECK_HOSTILE_TAG={tag}".encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            continue
    return pids


def proc_state(pid):
    """(state letter, dying) of a process, or None when it is gone. Dying: it is exiting
    (PF_EXITING) or has a SIGKILL pending, as a child does between its parent's death
    (PR_SET_PDEATHSIG) and its own, which on a loaded machine can take a while."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as f:
            pending = [int(line.split()[1], 16) for line in f
                       if line.startswith(("SigPnd:", "ShdPnd:"))]
    except (OSError, IndexError, ValueError):
        return None
    kill_bit = 1 << (signal.SIGKILL - 1)
    return fields[0], bool(int(fields[6]) & 0x4) or any(m & kill_bit for m in pending)


def reap_tagged(tag):
    """Names the processes of a finished run still alive (zombies and the dying do not count:
    waited for, up to 10 s), and kills them so one failing case cannot disturb the next."""
    time.sleep(0.05)
    end = time.monotonic() + 10
    while True:
        states = {pid: proc_state(pid) for pid in tagged_pids(tag)}
        alive = {pid: st for pid, st in states.items() if st and st[0] != "Z"}
        if not any(dying for _, dying in alive.values()) or time.monotonic() > end:
            break
        time.sleep(0.05)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return list(alive)
