#!/usr/bin/env python3
"""The fuzzing engine's end-to-end tests, as TAP.

usage: engine_test.py GROUP ALLOCHECK CRASH.so HANG.so DIRTY_CALLOC.so REF.so
GROUP: cli (bad input, exit codes), fuzz (determinism, crash, hang, minimize, generate),
repro (the C reproducer compiles, fails against a bug and passes when clean)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

GROUP, EXE, CRASH, HANG, DIRTY, REF = sys.argv[1:7]
TMP = tempfile.mkdtemp(prefix="allocheck-engine-")
tap = Tap(diag_lines=20)


def run(*args, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([EXE] + list(args), capture_output=True, text=True, env=e,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, diag=""):
    return tap.ok(cond, name, diag)


def write(name, text, mode="w"):
    path = os.path.join(TMP, name)
    with open(path, mode) as f:
        f.write(text)
    return path


def ops_in(path):
    with open(path) as f:
        return sum(1 for line in f if line.strip() and not line.startswith("#"))


def bad_input(name, path, expect):
    rc, out, err = run("replay", "-a", "reference", path)
    lines = err.strip().splitlines()
    check(f"{name}: exit 2, one line naming it", rc == 2 and len(lines) == 1 and expect in err,
          f"rc={rc} stderr={err!r}")


def test_cli():
    hdr = "# allocheck trace v1\n"
    bad_input("malformed trace", write("bad.trace", hdr + "malloc 0 16\nmalloc 1\n"), "line 3")
    bad_input("unknown op", write("op.trace", hdr + "mallocc 0 16\n"), "mallocc")
    bad_input("slot out of range", write("slot.trace", hdr + "malloc 5000 16\n"), "5000")
    bad_input("missing file", os.path.join(TMP, "nope.trace"), "nope.trace")
    binpath = os.path.join(TMP, "w.bin")
    rc, _, err = run("generate", "--seed", "3", "--ops", "200", "--binary", "-o", binpath)
    data = open(binpath, "rb").read()
    for cut in (len(data) // 2, len(data) - 1, len(data) * 3 // 4, 9):
        p = write(f"cut{cut}.bin", data[:cut], "wb")
        rc, out, err = run("replay", "-a", "reference", p)
        check(f"truncated binary input ({cut} bytes) decodes and runs clean", rc == 0,
              f"rc={rc} {out}{err}")
    bad_input("binary trace cut inside its header", write("hdr.bin", data[:6], "wb"),
              "truncated binary trace")
    # A fuzzer's crash file need not start with the magic: it replays as the targets read it.
    p = write("headerless.bin", bytes([0, 5, 3, 9, 5, 0x8c, 13]) + data[8:40], "wb")
    rc, out, err = run("replay", "-a", "reference", p)
    check("a headerless binary input (a fuzzer's crash file) replays", rc == 0,
          f"rc={rc} {out}{err}")
    rc, out, err = run("replay", "-a", "/nonexistent/liballoc.so", binpath)
    check("a SPEC that fails to load: exit 2, one line",
          rc == 2 and len(err.strip().splitlines()) == 1, f"rc={rc} {err!r}")
    rc, out, err = run("generate", "--sizes", "huge", "--ops", "10")
    check("generate --sizes with an unknown mix: exit 2", rc == 2, f"rc={rc} {err!r}")
    sizes = {}
    for mix in ([], ["--sizes=stress"], ["--max-size", "1000000"]):
        g = os.path.join(TMP, "mix.trace")
        run("generate", "--seed", "2", "--ops", "20000", *mix, "-o", g)
        got = [int(w[-1]) for w in (line.split() for line in open(g))
               if w and w[0] == "malloc" and w[-1].isdigit() and int(w[-1]) < 1 << 40]
        sizes[" ".join(mix) or "default"] = got
    small = lambda v: sum(1 for x in v if x <= 4096) / max(len(v), 1)
    check("generate's default mix is realistic: >= 90% of mallocs up to 4 KiB, none over "
          "1 MiB", small(sizes["default"]) >= 0.9 and max(sizes["default"]) <= 1 << 20,
          f"{small(sizes['default'])} max {max(sizes['default'])}")
    check("--sizes=stress and --max-size give the fuzzer's mix (> 10% of mallocs above 4 KiB; "
          "--max-size caps it)", small(sizes["--sizes=stress"]) < 0.9 and
          max(sizes["--max-size 1000000"]) <= 1000000 and small(sizes["--max-size 1000000"]) < 0.9,
          f"{small(sizes['--sizes=stress'])} {small(sizes['--max-size 1000000'])}")
    rc, out, err = run("fuzz", "--time", "soon")
    check("fuzz --time with a bad duration: exit 2", rc == 2, f"rc={rc} {err!r}")
    clean = write("clean.trace", hdr + "malloc 0 1000\nfree 0\n")
    rc, out, err = run("replay", "-a", "reference", clean)
    check("replay of a clean trace exits 0", rc == 0 and "clean" in out, f"rc={rc} {out}{err}")
    rc, out, err = run("replay", "-a", CRASH, clean)
    check("replay of a crashing trace exits 1 naming the crash",
          rc == 1 and "crash" in out and "SIGSEGV" in out, f"rc={rc} {out}{err}")
    rc, out, err = run("replay", "-a", DIRTY, write("dirty.trace",
                       hdr + "malloc 0 100\nfree 0\ncalloc 1 1 100\n"))
    check("replay of a violation exits 1 with oracle and line",
          rc == 1 and "calloc-zero" in out and "line 4" in out, f"rc={rc} {out}{err}")
    rc, out, err = run("minimize", "-a", "reference", clean, "-o", os.path.join(TMP, "m"))
    check("minimize of a clean trace: exit 2", rc == 2, f"rc={rc} {err!r}")


def fuzz(spec, outdir, *extra):
    return run("fuzz", "-a", spec, "--seed", "7", "--runs", "400", "--out", outdir, *extra)


def test_fuzz():
    dirs = [os.path.join(TMP, d) for d in ("a", "b")]
    # One thread: the dirty plugin forwards to glibc, whose choice of arena for a second thread
    # depends on timing, so which recycled block calloc gets (and the finding) could differ.
    rcs = [fuzz(DIRTY, d, "--threads", "1")[0] for d in dirs]
    names = [sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in dirs]
    check("a seeded bug is found (exit 1) with a calloc-zero finding",
          rcs == [1, 1] and any(n.startswith("calloc-zero-") for n in names[0]), f"{rcs} {names}")
    same = names[0] == names[1] and all(
        open(os.path.join(dirs[0], n), "rb").read() == open(os.path.join(dirs[1], n), "rb").read()
        for n in names[0] if n.endswith(".trace"))
    check("same seed: identical finding and minimized trace, byte for byte", same, f"{names}")

    d = os.path.join(TMP, "keep")
    rc, out, err = fuzz(DIRTY, d, "--keep-going")
    mins = glob.glob(os.path.join(d, "*.min.trace"))
    m = re.search(r"^(\d+) distinct findings \((\d+) in all\)", out, re.M)
    rep = re.search(r"^ +(\d+) x calloc-zero calloc: calloc block of # bytes", out, re.M)
    check("--keep-going reports a repeated bug once, with its count",
          rc == 1 and m and int(m.group(1)) == len(mins) and int(m.group(2)) > len(mins)
          and rep and int(rep.group(1)) > 1 and out.count("calloc-zero in ") == 1,
          f"rc={rc} {mins} {out[-600:]}{err}")

    d = os.path.join(TMP, "crash")
    rc, out, err = fuzz(CRASH, d)
    traces = glob.glob(os.path.join(d, "crash-*.trace"))
    check("a segfaulting allocator is a crash finding, not a dead tool",
          rc == 1 and traces and "SIGSEGV" in out, f"rc={rc} {out}{err}")
    mins = glob.glob(os.path.join(d, "crash-*.min.trace"))
    check("the crash is minimized to at most 2 ops", mins and ops_in(mins[0]) <= 2,
          f"{mins}")

    d = os.path.join(TMP, "hang")
    rc, out, err = fuzz(HANG, d, "--hang", "1")
    check("a hanging allocator is a timeout finding",
          rc == 1 and glob.glob(os.path.join(d, "timeout-*.trace")), f"rc={rc} {out}{err}")

    gen = os.path.join(TMP, "g.trace")
    run("generate", "--seed", "11", "--ops", "300", "-o", gen)
    with open(gen, "a") as f:
        f.write("malloc 0 1000\nfree 0\n")
    mo = os.path.join(TMP, "g.min.trace")
    rc, out, err = run("minimize", "-a", CRASH, gen, "-o", mo)
    check("minimize shrinks 302 ops to at most 2", rc == 0 and ops_in(mo) <= 2,
          f"rc={rc} {err}")

    for binary in ([], ["--binary"]):
        g = os.path.join(TMP, "gen" + ("".join(binary)))
        rc1, _, _ = run("generate", "--seed", "5", "--ops", "3000", "--threads", "3", *binary,
                        "-o", g)
        rc2, out, err = run("replay", "-a", "reference", g)
        check(f"generate {''.join(binary) or '--text'} output replays clean",
              rc1 == 0 and rc2 == 0, f"{rc1} {rc2} {out}{err}")
    rc, out, err = run("replay", "-a", "reference", "--spread-threads", g)
    check("replay --spread-threads of a trace with thread ops runs clean", rc == 0,
          f"rc={rc} {out}{err}")
    rc, out, err = run("fuzz", "-a", "reference", "--seed", "3", "--runs", "150",
                       "--out", os.path.join(TMP, "ref"))
    check("the reference allocator fuzzes clean", rc == 0, f"rc={rc} {out}{err}")


def test_repro():
    cc = shutil.which("cc")
    if not cc:
        check("# SKIP no cc", True)
        return
    hdr = "# allocheck trace v1\n"
    cases = [("dirty calloc", DIRTY, hdr + "malloc 0 100\nfree 0\ncalloc 1 1 100\n", 1,
              "calloc-zero"),
             ("crash", CRASH, hdr + "malloc 0 1000\n", -11, ""),
             ("clean on reference", "reference", hdr + "malloc 0 100\nfree 0\ncalloc 1 1 100\n"
              "aligned_alloc 2 256 256\nthread 1\nfree 2\nusable 1\n", 0, "no failure"),
             ("clean on system", "system", open(os.path.join(
                 os.path.dirname(os.path.abspath(__file__)), "../../corpus/every-op.trace")).read(),
              0, "no failure")]
    for name, spec, text, want, expect in cases:
        t = write(name.replace(" ", "_") + ".trace", text)
        c = t + ".c"
        rc, out, err = run("repro", "-a", spec, t, "-o", c, env={"ALLOCHECK_REF_SO": REF})
        exe = t + ".exe"
        cp = subprocess.run([cc, c, "-ldl", "-o", exe], capture_output=True, text=True)
        ok = rc == 0 and cp.returncode == 0
        p = subprocess.run([exe], capture_output=True, text=True, timeout=60) if ok else None
        check(f"repro ({name}) compiles with cc and exits {want}",
              ok and p.returncode == want and expect in p.stdout,
              f"rc={rc} {err} {cp.stderr[:500]} {p and (p.returncode, p.stdout)}")


def test_repro_agrees():
    """The reproducer re-implements the oracles' rules in plain C: it must fail exactly when
    replay finds something, on allocators that break some rules and keep others."""
    cc = shutil.which("cc")
    if not cc:
        check("# SKIP no cc", True)
        return
    hdr = "# allocheck trace v1\n"
    traces = {
        "nonpow2-aligned-alloc": "aligned_alloc 0 48 1\n",
        "aligned-alloc-odd-size": "aligned_alloc 0 16 1\n",
        "memalign-nonpow2": "memalign 0 48 1\nmemalign 1 24 100\n",
        "memalign-huge": "memalign 0 64 PTRDIFF_MAX+1\nvalloc 1 SIZE_MAX-8192\n",
        "posix-memalign-24": "posix_memalign 0 24 8\n",
        "posix-memalign-huge": "posix_memalign 0 2^63 0\nposix_memalign 1 2^62 8\n",
    }
    scudo = os.environ.get("KNOWN_SCUDO", "")
    mimalloc = os.environ.get("KNOWN_MIMALLOC", "")
    specs = ["system", "reference"] + [p for p in (scudo, mimalloc) if os.path.exists(p)]
    for spec in specs:
        for name, body in traces.items():
            t = write(f"agree-{name}.trace", hdr + body)
            rc, out, err = run("replay", "-a", spec, t)
            c = t + ".c"
            rc2, _, err2 = run("repro", "-a", spec, t, "-o", c, env={"ALLOCHECK_REF_SO": REF})
            exe = t + ".exe"
            cp = subprocess.run([cc, c, "-ldl", "-o", exe], capture_output=True, text=True)
            p = subprocess.run([exe], capture_output=True, text=True, timeout=60) \
                if rc2 == 0 and cp.returncode == 0 else None
            check(f"repro agrees with replay: {name} on {os.path.basename(spec)}",
                  rc in (0, 1) and p is not None and (p.returncode != 0) == (rc == 1),
                  f"replay rc={rc} {out.strip()} repro={p and (p.returncode, p.stdout)} {err2}")


{"cli": test_cli, "fuzz": test_fuzz, "repro": test_repro,
 "repro-agrees": test_repro_agrees}[GROUP]()
shutil.rmtree(TMP, ignore_errors=True)
sys.exit(tap.done())
