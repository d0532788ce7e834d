"""Allocators that misbehave while the harness runs them, under conform, fuzz and replay:
the exit status is the verdict (1 for a finding or a failed check, 0 for a clean run), the
allocator's output never reaches stdout, no process of the run survives (not even one that
left the process group with setsid), and every finding file is whole.

ALLOCHECK_DATA_LIMIT keeps eat_memory's children to 256 MiB above what allocheck maps."""
import glob
import os
import signal
import subprocess

from harness import parses_json

ENV = {"ALLOCHECK_DATA_LIMIT": "256M"}

# variant -> (replay, fuzz, conform status) on the cases' trace and checks. None: 0 or 1, as
# the allocator it forwards to decides (glibc's aligned_alloc takes a bad alignment; a
# sanitized build leaves the aligned functions out; eat_memory's last malloc may fail);
# what matters there is that the run ends, and cleanly.
OUTCOMES = {
    "malloc_null": (1, 1, 1), "malloc_same": (1, 1, 1), "malloc_stack": (1, 1, 1),
    "malloc_one": (1, 1, 1), "free_abort": (1, 1, 1), "free_close_fds": (0, None, 0),
    "segv_loop": (1, 1, 1), "bg_thread": (0, None, 0), "kill_group": (1, 1, 1),
    "setsid": (0, None, 0), "sigstop": (1, 1, 1), "print": (0, None, 0),
    "eat_memory": (None, None, None),
}


def wanted(status, r):
    return status if status is not None else r.rc if r.rc in (0, 1) else 1


def trace(s):
    return s.trace("children.trace", 1, 200)



def findings_whole(d):
    """Every finding has its three files, none half-written, no temporary left over."""
    problems = []
    traces = [f for f in glob.glob(os.path.join(d, "*.trace")) if not f.endswith(".min.trace")]
    if not traces:
        problems.append("no finding saved")
    for t in traces:
        base = t[:-len(".trace")]
        for part in (t, base + ".min.trace", base + ".c"):
            if not os.path.exists(part):
                problems.append(f"{os.path.basename(part)} missing")
                continue
            with open(part) as f:
                text = f.read()
            if not text.endswith("\n") or (part.endswith(".trace") and "# " not in text):
                problems.append(f"{os.path.basename(part)} is not whole")
    if glob.glob(os.path.join(d, "*.tmp.*")):
        problems.append("a temporary file was left behind")
    return "; ".join(problems)


def replay(s, variant, status):
    r = s.run(["replay", "--hang", "1", "-a", s.plugin(variant), trace(s)], timeout=60,
              env=ENV)
    s.expect(f"replay: {variant} gives status {status}", r, wanted(status, r))
    s.check(f"replay: {variant}'s output is not on stdout", "hostile: malloc(" not in r.out, r.out[:300])
    return r


def fuzz(s, variant, status):
    d = s.path(f"findings-{variant}")
    # A short watchdog only where the variant hangs: on a loaded machine a child can go
    # unscheduled for half a second, and a kill(0, SIGTERM) must not be read as a hang.
    hang = "0.5" if variant in ("segv_loop", "sigstop") else "5"
    r = s.run(["fuzz", "--runs", "3", "--hang", hang, "-o", d, "-a", s.plugin(variant)],
              timeout=120, env=ENV)
    s.expect(f"fuzz: {variant} gives status {status}", r, wanted(status, r))
    problems = findings_whole(d) if r.rc == 1 else ""
    s.check(f"fuzz: {variant}'s findings are whole", not problems, problems)
    s.check(f"fuzz: {variant}'s output is not on stdout", "hostile: malloc(" not in r.out, r.out[:300])
    return r


def conform(s, variant, status):
    r = s.run(["conform", "--only", "malloc-align,malloc-writable,free-null", "--timeout", "1",
               "--format", "json", "-a", s.plugin(variant)], timeout=120, env=ENV)
    s.expect(f"conform: {variant} gives status {status}", r, wanted(status, r))
    s.check(f"conform: {variant}'s report on stdout is JSON", parses_json(r.out), r.out[:300])
    return r


def inherited(s):
    """A child the process had before it became allocheck is not a stray: the sweep after
    loading a constructor that forks must leave it alone."""
    p = subprocess.Popen(["sh", "-c", 'sleep 30 & echo $!; exec "$0" "$@"', s.exe,
                          "allocators", "-a", s.plugin("ctor_fork")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    first = out.split("\n", 1)[0]
    pid = int(first) if first.isdigit() else 0
    alive = pid > 0 and os.path.exists(f"/proc/{pid}")
    if pid > 0 and alive:
        os.kill(pid, signal.SIGKILL)
    s.check("a child the process had before allocheck started survives the sweep",
            p.returncode == 0 and alive, f"status {p.returncode}, sleep {first} alive: {alive}"
            f"\n{err[-300:]}")


def limits(s):
    """Every child runs under the same limits, in a group of its own (show_limits says so
    in its last words, then aborts)."""
    plugin = s.plugin("show_limits")
    runs = {
        "replay": ["replay", "-a", plugin, trace(s)],
        "fuzz": ["fuzz", "--runs", "1", "-o", s.path("findings-limits"), "-a", plugin],
        "conform": ["conform", "--only", "malloc-align", "-a", plugin],
    }
    for cmd, args in runs.items():
        r = s.run(args, timeout=60, env=ENV)
        s.expect(f"{cmd}: show_limits is a finding", r, 1)
        s.check(f"{cmd}: the child runs limited, in its own process group",
                "limits: data limited, own group yes" in r.out, r.out[-400:])


def run(s):
    for variant, (replay_status, fuzz_status, conform_status) in OUTCOMES.items():
        rr = replay(s, variant, replay_status)
        fr = fuzz(s, variant, fuzz_status)
        cr = conform(s, variant, conform_status)
        if variant == "kill_group":
            # kill(0, SIGTERM) reaches only the child's own group: a finding, not our death.
            for cmd, r in (("replay", rr), ("fuzz", fr), ("conform", cr)):
                s.check(f"{cmd}: kill(0, SIGTERM) is reported as SIGTERM", "SIGTERM" in r.out,
                        r.out[:300])
    inherited(s)
    limits(s)
