"""preload: specs: the allocator under test runs only in exec'd workers, never in the process the
user started. Allocators that break malloc or free from their first call would break that
process at once if it ran on them (the _now variants), so each case here fails if it does."""
import os
import signal
import subprocess
import time

from harness import tagged_pids

COMMANDS = ("conform", "fuzz", "replay", "minimize", "repro", "generate", "trace", "list",
            "allocators")


def ref_so(s):
    # build/tests/hostile -> build/src/refalloc
    return os.path.normpath(os.path.join(s.plugins, "..", "..", "src", "refalloc",
                                         "liballocheck-ref.so"))


def write_trace(s, name, ops):
    path = s.path(name)
    with open(path, "w") as f:
        f.write("# allocheck trace v1\n" + "".join(op + "\n" for op in ops))
    return path


def summary_line(out, label):
    return [l for l in out.splitlines() if l.strip().startswith(label + ":")]


def conform_cases(s):
    null = "preload:" + s.plugin("malloc_null_now")
    r = s.run(["conform", "-a", null, "--skip", "*fork*,*thread*"], timeout=120)
    s.expect("conform: a preloaded malloc that fails at once gives failed checks, exit 1", r, 1)
    s.check("conform: it is that allocator that was tested, not the reference",
            summary_line(r.out, null) and not summary_line(r.out, "reference"), r.out[-400:])
    s.check("conform: its failed checks say why", "malloc(" in r.out and "failed" in r.out,
            r.out[-400:])

    abort = "preload:" + s.plugin("free_abort_now")
    r = s.run(["conform", "-a", abort, "--only", "malloc-*,free-*"], timeout=120)
    s.expect("conform: a preloaded free that aborts fails checks, exit 1 (never 134)", r, 1)
    s.check("conform: the failed checks name SIGABRT and the allocator's last words",
            "SIGABRT" in r.out and "free refuses" in r.out, r.out[-400:])

    r = s.run(["conform", "-a", "preload:./hostile_malloc_null_now.so", "--only", "malloc-align"],
              timeout=60, cwd=s.plugins)
    s.expect("conform: a relative preload: path (the issue's ./libnull.so) fails its check", r, 1)
    s.check("conform: ... against that library",
            "preload:./hostile_malloc_null_now.so: 1 problem in 1 failed checks" in r.out,
            r.out[-300:])

    both = ["conform", "-a", "preload:" + ref_so(s), "-a", "reference", "--only", "malloc-*"]
    r = s.run(both, timeout=120)
    s.expect("conform: preload: beside another -a runs both", r, 0)
    s.check("conform: both allocators are in the summary",
            summary_line(r.out, "preload:" + ref_so(s)) and summary_line(r.out, "reference"),
            r.out[-400:])


def other_command_cases(s):
    so = "preload:" + ref_so(s)
    r = s.run(["conform", "-a", so, "--only", "*fork*"], timeout=120)
    s.expect("conform: checks that fork run their grandchildren under the preload", r, 0)
    s.check("conform: the fork checks ran", "0 failed" in r.out and " 0 passed" not in r.out,
            r.out[-300:])
    t = write_trace(s, "clean.trace", ["malloc 0 24", "realloc 0 4000", "free 0"])
    r = s.run(["replay", "-a", so, "-a", "reference", t], timeout=60)
    s.expect("replay: preload: beside another -a replays against both", r, 0)
    s.check("replay: two clean runs", r.out.count("clean, 3 ops") == 2, r.out)
    r = s.run(["list", "-a", "preload:" + s.plugin("malloc_null")], timeout=60)
    s.expect("list: -a preload: says which checks it would skip", r, 0)
    s.check("list: the preloaded library lacks valloc", "no valloc" in r.out, r.out[-300:])


def fuzz_cases(s):
    out = s.path("fuzz-null")
    r = s.run(["fuzz", "-a", "preload:" + s.plugin("malloc_null_now"), "--runs", "3",
               "--keep-going", "--out", out], timeout=120)
    s.expect("fuzz: a preloaded malloc that fails at once is a finding, exit 1", r, 1)
    s.check("fuzz: --runs is honoured (3 findings in all, one per sequence)",
            "(3 in all)" in r.out, r.out[-400:])
    files = os.listdir(out) if os.path.isdir(out) else []
    s.check("fuzz: --out is honoured (trace, minimized trace and C reproducer there)",
            any(f.endswith(".min.trace") for f in files) and any(f.endswith(".c") for f in files),
            f"{out}: {files}")

    out = s.path("fuzz-abort")
    r = s.run(["fuzz", "-a", "preload:" + s.plugin("free_abort_now"), "--runs", "2",
               "--out", out], timeout=120)
    s.expect("fuzz: a preloaded free that aborts is a crash finding, exit 1", r, 1)
    s.check("fuzz: the finding names SIGABRT", "SIGABRT" in r.out, r.out[-400:])

    r = s.run(["fuzz", "-a", "preload:" + ref_so(s), "--runs", "7", "--out",
               s.path("fuzz-ref")], timeout=120)
    s.expect("fuzz: the reference preloaded runs clean", r, 0)
    s.check("fuzz: under preload: exactly --runs sequences run", " 7 sequences" in r.out, r.out)


def trace_cases(s):
    t = write_trace(s, "two.trace", ["malloc 0 24", "malloc 1 100", "free 0", "free 1"])
    r = s.run(["replay", "-a", "preload:" + s.plugin("free_abort_now"), t], timeout=60)
    s.expect("replay: a preloaded free that aborts is a crash finding, exit 1", r, 1)
    s.check("replay: the finding names SIGABRT", "SIGABRT" in r.out, r.out)

    out = s.path("min.trace")
    r = s.run(["minimize", "-a", "preload:" + s.plugin("malloc_null_now"), t, "-o", out],
              timeout=60)
    s.expect("minimize: under a preloaded malloc that fails, the trace minimizes", r, 0)
    s.check("minimize: -o is written", os.path.exists(out), r.err)

    out = s.path("repro.c")
    r = s.run(["repro", "-a", "preload:" + s.plugin("malloc_null_now"), t, "-o", out],
              timeout=60)
    s.expect("repro: under preload: the reproducer is written", r, 0)
    text = open(out).read() if os.path.exists(out) else ""
    s.check("repro: its loader uses LD_PRELOAD of the library",
            "MODE = MODE_PRELOAD" in text and s.plugin("malloc_null_now") in text, r.err)
    exe = s.path("repro")
    built = subprocess.run(["cc", out, "-ldl", "-o", exe], capture_output=True).returncode == 0
    ran = subprocess.run([exe], capture_output=True) if built else None
    s.check("repro: the reproducer, built and run, preloads the library and fails (exit 1)",
            ran is not None and ran.returncode == 1, ran.stdout if ran else "did not build")
    jemalloc = os.environ.get("KNOWN_JEMALLOC", "")
    if os.path.exists(jemalloc):
        r = s.run(["repro", "-a", "preload:jemalloc", t, "-o", out], timeout=60)
        text = open(out).read() if os.path.exists(out) else ""
        s.check("repro: a preload: shorthand becomes the library's path in the reproducer",
                r.rc == 0 and f'LIB[] = "{jemalloc}"' in text, r.err)


def loading_cases(s):
    for variant, needle in (("ctor_block", "did not finish loading"),
                            ("ctor_crash", "crashed while loading (SIGSEGV)"),
                            ("ctor_exit", "exited while loading (status 3)")):
        r = s.run(["allocators", "-a", "preload:" + s.plugin(variant)], timeout=30)
        s.expect(f"allocators: preload: of a constructor that does {variant} is a load error",
                 r, 2, needle=needle, stdout_empty=True)
    r = s.run(["allocators", "-a", "preload:" + s.plugin("ctor_fork")], timeout=30)
    s.expect("allocators: preload: of a constructor that forks leaves nothing running", r, 0)
    r = s.run(["allocators", "-a", "preload:" + s.plugin("ctor_print")], timeout=30)
    s.expect("allocators: preload: of a constructor that prints loads", r, 0)
    s.check("allocators: what the constructor printed is not in the report",
            "hello from the constructor" not in r.out, r.out)
    spaced = s.path("a b.so")
    with open(s.plugin("print"), "rb") as src, open(spaced, "wb") as dst:
        dst.write(src.read())
    r = s.run(["allocators", "-a", "preload:" + spaced], timeout=30)
    s.expect("allocators: preload: of a path LD_PRELOAD cannot name", r, 2,
             needle="colon or a space", stdout_empty=True)
    r = s.run(["allocators", "-a", "preload:" + s.path("missing.so")], timeout=30)
    s.expect("allocators: preload: of a missing file", r, 2, needle="missing.so",
             stdout_empty=True)


def hidden_mode_cases(s):
    for args in (["__preload-worker"], ["__preload-worker", "0"], ["__preload-worker", "7"]):
        r = s.run(args, timeout=30)
        s.expect(f"the hidden worker mode refuses {' '.join(args[1:]) or 'no fd'}", r, 2,
                 needle="not for use by hand", stdout_empty=True)


def parse_cases(s):
    """A command whose own malloc fails must say so, never run on half-read options."""
    t = write_trace(s, "one.trace", ["malloc 0 8", "free 0"])
    args = {
        "conform": ["-a", "reference", "--only", "malloc-align"],
        "fuzz": ["--runs", "1", "--out", s.path("parse-fuzz")],
        "replay": [t], "minimize": [t, "-o", s.path("parse.min")],
        "repro": [t, "-o", s.path("parse.c")],
        "generate": ["--seed", "1", "--ops", "5", "-o", s.path("parse.trace")],
        "trace": ["--to-text", t], "list": [], "allocators": ["-a", "system"],
    }
    env = {"LD_PRELOAD": s.plugin("malloc_null_now")}
    for cmd in COMMANDS:
        r = s.run([cmd] + args[cmd], timeout=60, env=env)
        s.expect(f"{cmd}: a command line it cannot read is one line, exit 2", r, 2,
                 needle="cannot read the command line", stdout_empty=True)


def environ_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def maps_of(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return f.read()
    except OSError:
        return ""


def supervisor_cases(s):
    """While fuzz runs, the process the user started has no LD_PRELOAD and does not map X;
    its worker has both."""
    so = ref_so(s)
    p = s.start(["fuzz", "-a", "preload:" + so, "--time", "60s", "--out", s.path("fz-sup")])
    worker = None
    t0 = time.monotonic()
    while worker is None and p.poll() is None and time.monotonic() - t0 < 30:
        for pid in tagged_pids(p.tag):
            if pid != p.pid and f"LD_PRELOAD={so}".encode() in environ_of(pid) \
                    and so in maps_of(pid):
                worker = pid
        time.sleep(0.05)
    sup_env, sup_maps = environ_of(p.pid), maps_of(p.pid)
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    r = s.finish(p, 30)
    s.check("supervisor: a worker runs with LD_PRELOAD of X and has X mapped",
            worker is not None, r.err)
    s.check("supervisor: its environment has no LD_PRELOAD",
            sup_env and not any(e.startswith(b"LD_PRELOAD=") for e in sup_env))
    s.check("supervisor: X is not mapped in it", sup_maps and so not in sup_maps)
    s.expect("supervisor: fuzz under preload: stops cleanly on ^C (exit 130)", r, 130)


def run(s):
    loading_cases(s)
    hidden_mode_cases(s)
    conform_cases(s)
    other_command_cases(s)
    fuzz_cases(s)
    trace_cases(s)
    supervisor_cases(s)
    parse_cases(s)
