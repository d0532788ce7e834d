"""SIGINT, SIGTERM and SIGHUP to conform, fuzz, replay, minimize and repro in each phase:
loading a plugin whose constructor blocks, running checks or sequences, a hang under the
watchdog, reproducing a hang finding, minimizing. Each run must exit within 2 s of the signal
(a bound on behaviour -- stopping at the next look at the flag -- not a speed goal) with
128 + the signal, or 1 when it had found something; no process may survive it, and what it
had found or reported by then must be whole."""
import glob
import json
import os
import signal

BOUND = 2.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def name(sig):
    return signal.Signals(sig).name


def trace(s):
    return s.trace("interrupt.trace", 1, 200)


def after(seconds):
    return lambda elapsed, proc: elapsed >= seconds


def children(pid):
    """The pids of pid's children (all its threads')."""
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_started(elapsed, proc):
    """A phase, not a time: allocheck has a child (loading a plugin starts with one)."""
    return bool(children(proc.pid))


def child_busy(elapsed, proc):
    """A phase, not a time: a child of allocheck has run for 0.2 s of CPU (a fuzzing child at
    work, a check or a replay spinning in segv_loop's SIGSEGV loop). A loaded machine makes it
    come later, never earlier."""
    return any(cpu_seconds(c) >= 0.2 for c in children(proc.pid))


def file_appears(pattern):
    return lambda elapsed, proc: bool(glob.glob(pattern))


def prompt(s, what, r, sig, rc, needle=None):
    """The shared contract of an interrupt, plus the bound on how long the exit took."""
    ok = s.expect(f"{what}: {name(sig)} gives status {rc}", r, rc, needle=needle)
    took = r.exit_after_signal
    s.check(f"{what}: {name(sig)} is honoured within {BOUND} s", took is not None and took <= BOUND,
            f"took {took:.2f} s")
    return ok


def whole_or_absent(path):
    if not os.path.exists(path):
        return True
    with open(path) as f:
        text = f.read()
    return text.endswith("\n") and not glob.glob(path + ".tmp.*")


def loading(s, sig):
    plugin = s.plugin("ctor_block")
    for cmd in (["allocators", "-a", plugin], ["replay", "-a", plugin, trace(s)]):
        r = s.interrupt(cmd, sig, child_started)
        prompt(s, f"{cmd[0]} while loading", r, sig, 128 + sig, needle=plugin)


def conform(s, sig):
    hang = s.plugin("segv_loop")
    report = s.path(f"conform-{name(sig)}.json")
    r = s.interrupt(["conform", "--timeout", "30", "--format", "json", "-o", report,
                     "-a", hang], sig, child_busy)
    prompt(s, "conform while checks hang", r, sig, 128 + sig)
    try:
        with open(report) as f:
            doc = json.load(f)
        good = "interrupted" in json.dumps(doc)
    except (OSError, ValueError) as e:
        good, doc = False, e
    s.check(f"conform: the report written after {name(sig)} is whole and says why checks "
            "did not run", good, str(doc)[:300])
    # A failure found before the signal is kept, and makes the status 1. One check, one job:
    # malloc_one fails it (its 32nd malloc is (void *)1) before segv_loop's child starts
    # spinning, which is when the signal comes.
    r = s.interrupt(["conform", "--timeout", "30", "-j", "1", "--only", "malloc-every-small-size",
                     "-a", s.plugin("malloc_one"), "-a", hang], sig, child_busy)
    prompt(s, "conform after a failure", r, sig, 1)
    s.check(f"conform: the failure found before {name(sig)} is reported",
            "FAIL" in r.out and "malloc_one" in r.out, r.out[-300:])


def fuzz(s, sig):
    d = s.path(f"fuzz-clean-{name(sig)}")
    r = s.interrupt(["fuzz", "--time", "60", "-o", d], sig, child_busy)
    prompt(s, "fuzz while running", r, sig, 128 + sig)
    s.check(f"fuzz: the closing line is printed after {name(sig)}", "no findings" in r.out,
            r.out[-300:])
    # A hang finding: saved first, then reproduced under a 5 s watchdog; stop in between.
    d = s.path(f"fuzz-hang-{name(sig)}")
    r = s.interrupt(["fuzz", "--hang", "5", "-o", d, "-a", s.plugin("segv_loop")], sig,
                    file_appears(os.path.join(d, "timeout-*.trace")), timeout=60)
    prompt(s, "fuzz while reproducing a hang", r, sig, 1)
    # The raw trace, and (stopped while minimizing) the smallest trace so far, each whole.
    saved = [p for p in glob.glob(os.path.join(d, "timeout-*.trace"))
             if not p.endswith(".min.trace")]
    good = len(saved) == 1 and all(whole_or_absent(p) for p in glob.glob(os.path.join(d, "*")))
    s.check(f"fuzz: the hang saved before {name(sig)} is whole", good, str(saved))
    # The same with --hang 6, 6.5 s after the finding was saved: reproduced by then (one
    # hang), and half a second into minimizing (whose candidates that hang take 3 s each).
    d = s.path(f"fuzz-min-{name(sig)}")
    seen = []

    def minimizing(elapsed, proc):
        if not seen and glob.glob(os.path.join(d, "timeout-*.trace")):
            seen.append(elapsed)
        return bool(seen) and elapsed >= seen[0] + 6.5

    r = s.interrupt(["fuzz", "--hang", "6", "-o", d, "-a", s.plugin("segv_loop")], sig,
                    minimizing, timeout=60)
    prompt(s, "fuzz while minimizing a hang", r, sig, 1)
    files = glob.glob(os.path.join(d, "*"))
    s.check(f"fuzz: the files written before {name(sig)} while minimizing are whole",
            files and all(whole_or_absent(p) for p in files), str(files))


def replay(s, sig):
    r = s.interrupt(["replay", "--hang", "30", "-a", s.plugin("segv_loop"), trace(s)], sig,
                    child_busy)
    prompt(s, "replay of a hanging allocator", r, sig, 128 + sig)
    out = s.path(f"repro-{name(sig)}.c")
    r = s.interrupt(["repro", "--hang", "30", "-a", s.plugin("segv_loop"), "-o", out, trace(s)],
                    sig, child_busy)
    prompt(s, "repro of a hanging allocator", r, sig, 128 + sig)
    s.check(f"repro: the program is whole or absent after {name(sig)}", whole_or_absent(out))


def minimize(s, sig):
    out = s.path(f"min-{name(sig)}.trace")
    # The first run hangs for 1 s; after that every candidate that hangs takes 1 s more.
    r = s.interrupt(["minimize", "--hang", "1", "-a", s.plugin("segv_loop"), "-o", out,
                     trace(s)], sig, after(2.0), timeout=120)
    prompt(s, "minimize while minimizing a hang", r, sig, 128 + sig)
    s.check(f"minimize: the output is whole or absent after {name(sig)}", whole_or_absent(out))


def hangup(s):
    d = s.path("fuzz-hup")
    r = s.interrupt(["fuzz", "--time", "60", "-o", d], signal.SIGHUP, child_busy)
    prompt(s, "fuzz while running", r, signal.SIGHUP, 128 + signal.SIGHUP)


def killed(s):
    """SIGKILL cannot be caught: PR_SET_PDEATHSIG is what takes the children along."""
    r = s.interrupt(["fuzz", "--time", "60", "-o", s.path("fuzz-kill")], signal.SIGKILL,
                    child_busy)
    s.expect("fuzz: SIGKILL to allocheck takes its fuzzing child along", r, -signal.SIGKILL)
    r = s.interrupt(["replay", "--hang", "30", "-a", s.plugin("segv_loop"), trace(s)],
                    signal.SIGKILL, child_busy)
    s.expect("replay: SIGKILL to allocheck takes its hung child along", r, -signal.SIGKILL)


def run(s):
    for sig in SIGNALS:
        loading(s, sig)
        conform(s, sig)
        fuzz(s, sig)
        replay(s, sig)
        minimize(s, sig)
    hangup(s)
    killed(s)
