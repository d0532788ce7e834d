"""Bad inputs: every bad SPEC form, every bad trace, every numeric option's bad values and the
usage errors. Each case asserts the exit status, one stderr line naming the input (and, where
it matters, the reason), no surviving process, and that no output was left behind.

Inputs that would make an unfixed allocheck read without end (/dev/zero, an endless FIFO) are
killed past 1 GiB resident, so a regression fails the case instead of eating the machine's
memory; such a case asserts the run stopped on a limit of its own.
Leaves out: output targets (cases_output.py) and misbehaving plugins (cases_loading.py)."""
import os
import threading
import time

from harness import tagged_pids

HEADER = b"# allocheck trace v1\n"
MEMORY_LIMIT = 1 << 30
PAGE = os.sysconf("SC_PAGE_SIZE")


def expect(s, name, r, rc, needle=None, stdout_empty=None, also=()):
    """Suite.expect plus further conditions: also is a list of (condition, problem) pairs;
    the case fails with every problem whose condition is false."""
    good = s.expect(name, r, rc, needle=needle, stdout_empty=stdout_empty)
    bad = [why for cond, why in also if not cond]
    if bad:
        diag = s.results[-1][2] if not good else "stderr: " + r.err[-600:]
        s.results[-1] = (False, name, "; ".join(bad) + "\n" + diag)
    return good and not bad


def rss(tag):
    """Resident bytes of every process of a run."""
    total = 0
    for pid in tagged_pids(tag):
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def guarded(s, args, timeout=60):
    """Suite.run, but the run is killed once its processes hold more than MEMORY_LIMIT
    resident (r.eaten says so). An address-space limit would do it more simply, but a
    sanitizer runtime cannot start under one."""
    p = s.start(args)
    t0, eaten = time.monotonic(), False
    while p.poll() is None and time.monotonic() - t0 < timeout:
        if rss(p.tag) > MEMORY_LIMIT:
            eaten = True
            p.kill()
            break
        time.sleep(0.01)
    r = s.finish(p, 10)
    r.eaten = eaten
    return r


def write(s, name, data):
    path = s.path(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def bugs_plugin(s, name="bug_calloc_overflow"):
    """A seeded-bug allocator from tests/bugs: a finding on the first op, deterministically."""
    return os.path.join(os.path.dirname(s.plugins), "bugs", f"{name}.so")


def feed_forever(path, chunk):
    """Writes chunk to the FIFO until its reader goes away (a daemon thread: if allocheck
    never opens the FIFO, the thread just stays blocked in open)."""
    def loop():
        try:
            with open(path, "wb") as f:
                while True:
                    f.write(chunk)
        except OSError:
            pass
    threading.Thread(target=loop, daemon=True).start()


def specs(s):
    libm = os.environ["KNOWN_LIBM"]
    os.makedirs(s.path("dir.so"), exist_ok=True)
    notlib = write(s, "notlib.so", b"this is not an ELF file\n")
    long_name = s.path("x" * 5000 + ".so")
    cases = [
        ("a missing library", s.path("missing.so"), "missing.so"),
        ("a directory", s.path("dir.so"), "dir.so"),
        ("a file that is not a library", notlib, "notlib.so"),
        ("an unknown :option", libm + ":colour=red", "colour=red"),
        ("an empty prefix", libm + ":prefix=", "prefix"),
        ("a library with no allocation functions", libm, "libm.so.6"),
        ("an unknown shorthand", "nosuchalloc", "nosuchalloc"),
        ("preload: of a missing library", "preload:" + s.path("gone.so"), "gone.so"),
        ("an empty spec", "", "spec"),
        ("a name with a newline", s.path("new\nline.so"), "line.so"),
        ("a 5,000-character path keeps its reason", long_name, "too long"),
    ]
    for what, spec, needle in cases:
        r = s.run(["allocators", "-a", spec], timeout=30)
        expect(s, f"allocators -a: {what}", r, 2, needle=needle, stdout_empty=True)
    r = s.run(["conform", "-a", s.path("missing.so"), "--format", "json"], timeout=60)
    expect(s, "conform -a: a missing library", r, 2, needle="missing.so", stdout_empty=True)
    out = s.path("fuzz-missing-spec")
    r = s.run(["fuzz", "-a", s.path("missing.so"), "--runs", "5", "--out", out], timeout=60)
    expect(s, "fuzz -a: a missing library, no findings written", r, 2, needle="missing.so",
           also=[(not os.path.exists(out) or not os.listdir(out), "files in --out")])
    r = s.run(["replay", "-a", s.path("missing.so"), "/dev/null"], timeout=60)
    expect(s, "replay -a: a missing library", r, 2, needle="missing.so", stdout_empty=True)


# Text traces that must fail to load, with the line the error names.
BAD_TEXT = [
    ("a header naming v2", b"# allocheck trace v2\nmalloc 1 1\n", "line 1"),
    ("a header with a trailing blank and no version", b"# allocheck trace \n", "line 1"),
    ("the v1 header and a NUL byte", HEADER + b"malloc 1 \x00\n", "line 2"),
    ("the v1 header and a control byte", HEADER + b"check\nmalloc 1 1\x01\n", "line 3"),
    ("the v1 header and invalid UTF-8", HEADER + b"malloc 1 1\xff\n", "line 2"),
    ("the v1 header and UTF-8 outside a comment", HEADER + b"m\xc3\xa9lloc 1 1\n", "line 2"),
    ("an unknown op", HEADER + b"mallocc 1 2\n", "line 2"),
    ("an op with too few arguments", HEADER + b"malloc 1\n", "line 2"),
    ("a slot out of range", HEADER + b"free 1024\n", "line 2"),
    ("a thread out of range", HEADER + b"thread 8\n", "line 2"),
    ("a bad number", HEADER + b"malloc 1 12abc\n", "line 2"),
    ("a number past SIZE_MAX", HEADER + b"malloc 1 SIZE_MAX+1\n", "line 2"),
]


def traces(s):
    for i, (what, data, line) in enumerate(BAD_TEXT):
        path = write(s, f"bad{i}.trace", data)
        r = s.run(["replay", "-a", "reference", path], timeout=30)
        expect(s, f"replay: {what} is a line-numbered error", r, 2,
               needle=f"bad{i}.trace: {line}", stdout_empty=True)
    path = write(s, "utf8-comment.trace", HEADER + "# größe: ünïcödé\n".encode() + b"malloc 1 8\n")
    r = s.run(["replay", "-a", "reference", path], timeout=30)
    expect(s, "replay: UTF-8 in a comment of a v1 trace is text, and clean", r, 0,
           also=[("clean, 1 op" in r.out, "not replayed as the one-op text trace")])
    path = write(s, "cut.bin", b"\x7fACT\x01")
    r = s.run(["replay", "-a", "reference", path], timeout=30)
    expect(s, "replay: a binary trace cut inside its header", r, 2, needle="cut.bin")
    r = s.run(["replay", "-a", "reference", s.path("no-such.trace")], timeout=30)
    expect(s, "replay: a missing trace", r, 2, needle="no-such.trace")
    os.makedirs(s.path("tracedir"), exist_ok=True)
    r = s.run(["replay", "-a", "reference", s.path("tracedir")], timeout=30)
    expect(s, "replay: a directory as the trace", r, 2, needle="tracedir")
    r = s.run(["replay", "-a", "reference", s.path("new\nline.trace")], timeout=30)
    expect(s, "replay: a trace name with a newline is one line", r, 2, needle="line.trace")
    r = s.run(["replay", "-a", "reference", s.path("t" * 5000)], timeout=30)
    expect(s, "replay: a 5,000-character trace path keeps its reason", r, 2,
           needle="File name too long")
    endless(s)
    huge(s)
    other_readers(s)


def endless(s):
    r = guarded(s, ["replay", "-a", "reference", "/dev/zero"], timeout=60)
    expect(s, "replay /dev/zero stops at a limit of its own", r, 2, needle="/dev/zero",
           also=[(not r.eaten, "killed: it kept reading past 1 GiB"),
                 ("Cannot allocate memory" not in r.err, "ran out of memory instead")])
    for what, chunk in (("binary", b"\x00" * 65536), ("text", b"check\n" * 10000)):
        fifo = s.path(f"endless-{what}.fifo")
        os.mkfifo(fifo)
        feed_forever(fifo, HEADER + chunk if what == "text" else chunk)
        r = guarded(s, ["replay", "-a", "reference", "--check=none", fifo], timeout=120)
        expect(s, f"replay: a FIFO of endless {what} stops at a limit", r, 2, needle=fifo,
               also=[(not r.eaten, "killed: it kept reading past 1 GiB"),
                     ("Cannot allocate memory" not in r.err, "ran out of memory instead")])


def huge(s):
    """More ops than a trace may hold (4 Mi): refused, naming the limit."""
    path = s.path("huge.trace")
    with open(path, "wb") as f:
        f.write(HEADER)
        for _ in range(65):
            f.write(b"check\n" * 65536)
    r = guarded(s, ["replay", "-a", "reference", "--check=none", path], timeout=120)
    expect(s, "replay: a text trace over the op limit is refused", r, 2, needle="huge.trace",
           also=[(not r.eaten, "killed: it held more than 1 GiB"),
                 ("4194304" in r.err, "the limit is not named")])
    os.unlink(path)
    path = write(s, "long.trace", HEADER + b"check\n" * 5000)
    r = s.run(["trace", "--to-binary", path, "-o", s.path("long.bin")], timeout=30)
    expect(s, "trace --to-binary: more ops than the binary form holds", r, 2,
           needle="long.trace", also=[(not os.path.exists(s.path("long.bin")),
                                       "a partial output was left")])


def other_readers(s):
    bad = write(s, "other.trace", HEADER + b"malloc 1 12abc\n")
    for cmd in (["minimize", "-a", "reference", bad, "-o", s.path("m.trace")],
                ["repro", "-a", "reference", bad, "-o", s.path("r.c")],
                ["trace", "--to-binary", bad, "-o", s.path("t.bin")]):
        out = cmd[-1]
        r = s.run(cmd, timeout=60)
        expect(s, f"{cmd[0]}: a bad trace is a line-numbered error", r, 2,
               needle="other.trace: line 2",
               also=[(not os.path.exists(out), "an output was written")])


# Bad values of numeric options, per command: (command and its other arguments, option, value).
NUMERIC = [
    (["fuzz", "--runs", "1"], "--time", "nan"),
    (["fuzz", "--runs", "1"], "--time", "inf"),
    (["fuzz", "--runs", "1"], "--time", "1e300"),
    (["fuzz", "--runs", "1"], "--time", "99999999999999999999h"),
    (["fuzz", "--runs", "1"], "--time", "-5"),
    (["fuzz", "--runs", "1"], "--threads", "4294967297"),
    (["fuzz", "--runs", "1"], "--threads", "0"),
    (["fuzz", "--time", "1"], "--runs", "-1"),
    (["fuzz", "--time", "1"], "--runs", "18446744073709551616"),
    (["fuzz", "--runs", "1"], "--seed", "18446744073709551616"),
    (["fuzz", "--runs", "1"], "--max-ops", "99999999999999999999"),
    (["fuzz", "--runs", "1"], "--hang", "nan"),
    (["fuzz", "--runs", "1"], "--max-live", "12abc"),
    (["conform", "--only", "malloc-align"], "-j", "4294967297"),
    (["conform", "--only", "malloc-align"], "-j", "-1"),
    (["conform", "--only", "malloc-align"], "--timeout", "nan"),
    (["conform", "--only", "malloc-align"], "--timeout", "inf"),
    (["generate"], "--ops", "99999999999999999999"),
    (["generate"], "--ops", "-1"),
    (["generate"], "--threads", "4294967297"),
    (["generate"], "--seed", "-1"),
    (["generate"], "--max-size", "1e300"),
    (["replay"], "--hang", "inf"),
    (["replay"], "--max-live", "18446744073709551616"),
    (["minimize", "-o", "-"], "--hang", "1e300"),
    (["repro", "-o", "-"], "--max-live", "-1"),
]


def numbers(s):
    trace = write(s, "num.trace", HEADER + b"malloc 1 8\n")
    for cmd, opt, value in NUMERIC:
        out = s.path(f"num-out-{len(s.results)}")
        # --opt=value, so a value that starts with '-' is not read as an option.
        args = cmd + ([f"{opt}={value}"] if opt.startswith("--") else [opt + value])
        if cmd[0] in ("replay", "minimize", "repro"):
            args += [trace]
        if cmd[0] == "fuzz":
            args += ["--out", out]
        if cmd[0] == "generate":
            args += ["-o", out]
        r = s.run(args, timeout=30)
        expect(s, f"{cmd[0]} {opt} {value} is refused", r, 2, needle=value, stdout_empty=True,
               also=[(not os.path.exists(out), "an output was created")])
    r = s.run(["generate", "--binary", "--ops", "5000", "-o", s.path("g.bin")], timeout=30)
    expect(s, "generate --binary --ops 5000 names the binary form's limit", r, 2,
           needle="4096", also=[(not os.path.exists(s.path("g.bin")), "an output was created")])


def usage(s):
    cases = [
        (["trace"], "FILE"),
        (["trace", "--to-text"], "FILE"),
        (["trace", "--bogus", s.path("num.trace")], "bogus"),
        (["nosuchcommand"], "nosuchcommand"),
        (["replay", "-a", "reference"], "given"),
        (["minimize", "-a", "reference", s.path("num.trace")], "-o"),
        (["conform", "--format", "yaml"], "yaml"),
    ]
    for args, needle in cases:
        r = s.run(args, timeout=30)
        expect(s, f"usage error '{' '.join(a for a in args if '/' not in a)}' is one line", r, 2,
               needle=needle, stdout_empty=True)


def run(s):
    specs(s)
    traces(s)
    numbers(s)
    usage(s)
