#!/usr/bin/env python3
"""Detection benchmark: how soon the fuzzers alone find each seeded bug that `conform` catches.

usage: bench/detect.py BUILD [--lf-build DIR] [--seeds N] [--cap S] [--lf-seeds N] [--lf-cap S]
                       [--bugs REGEX] [--fuzz-only] [--jobs N] [--fuzz-opt=OPT ...]
                       [--no-give-up] [--work DIR]

The bugs come from the build, not from a list here: every plugin named in
BUILD/tests/bugs/bug_rows.tsv (the rows `conform` must fail, written by tests/bugs/meson.build
for every manifest) that exists as NAME.so under BUILD/tests/bugs; --fuzz-only adds the
seeded bugs only the fuzzer is asked to find (every other bug_*.so there but bug_none*).
Each bug is fuzzed alone:
- by `allocheck fuzz --seed S --time CAP` for seeds 1..N (default 5, 30 s): the time to find is
  the engine's own "found ... after T s" (from the start of fuzzing, before any minimizing,
  which gets 1 ms here);
- with --lf-build (a tree built with -Dfuzzing_engine=libfuzzer), by its fuzz_ops with
  -seed=S -max_total_time=CAP over a copy of corpus/ (default 5 seeds, 300 s), with the
  [libfuzzer] options of fuzz/fuzz_ops.options (its dictionary) as a campaign gets them: the
  time to find is the wall time to the crash. A saved input that also fails on the clean base
  allocator (bug_none: a slow input's timeout, a harness fault) is not a find: libFuzzer is
  started again on the corpus it grew, with seed S + 1000 k, for the time left of the cap.
A bug not found by its first seed within the cap is not tried with the others (the run on two
shared cores stays in minutes) unless --no-give-up; the table says how many seeds ran.
Prints one markdown table (docs/FUZZING.md keeps the latest): per bug and engine, the median
and worst time to find over the seeds run (a miss counts as the cap, shown as ">CAP"), and
found-within-30-s counts; then totals. Never a pass/fail test."""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

FOUND_RE = re.compile(r" found in .* after ([0-9.]+) s:")


def discover(build, fuzz_only):
    """[(name, path)] of the bug plugins, in the rows' order."""
    sos = {os.path.basename(p)[:-3]: os.path.abspath(p)
           for p in glob.glob(os.path.join(build, "tests", "bugs", "**", "*.so"), recursive=True)}
    rows_path = os.path.join(build, "tests", "bugs", "bug_rows.tsv")
    try:
        with open(rows_path) as f:
            names = [line.split("\t")[0].strip() for line in f if line.strip()]
    except OSError as e:
        sys.exit(f"detect.py: {rows_path}: {e.strerror} (build the tree with tests first)")
    bugs = [(n, sos[n]) for n in dict.fromkeys(names) if n in sos]
    if fuzz_only:
        listed = {n for n, _ in bugs}
        bugs += [(n, p) for n, p in sorted(sos.items())
                 if n.startswith("bug_") and n not in listed and not n.startswith("bug_none")
                 and not n.endswith("_desc")]
    return bugs


def run_builtin(exe, so, seed, cap, opts, work):
    out = os.path.join(work, f"{os.path.basename(so)}-{seed}")
    shutil.rmtree(out, ignore_errors=True)
    argv = [exe, "fuzz", "-a", so, "--seed", str(seed), "--time", str(cap),
            "--minimize-time", "1ms", "-o", out] + opts
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=cap + 60)
        m = FOUND_RE.search(p.stdout)
        return float(m.group(1)) if p.returncode == 1 and m else None
    except subprocess.TimeoutExpired:
        return None
    finally:
        shutil.rmtree(out, ignore_errors=True)


def target_options(path):
    """The [libfuzzer] flags of a target's .options file (what OSS-Fuzz and ClusterFuzzLite
    pass it), as -key=value; a dict named there is found next to the file."""
    flags, section = [], None
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return flags
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif "=" in line and section == "libfuzzer":
            key, value = (x.strip() for x in line.split("=", 1))
            if key == "dict":
                value = os.path.join(os.path.dirname(os.path.abspath(path)), value)
            flags.append(f"-{key}={value}")
    return flags


def libfuzzer_argv(target, options, seed, cap, wd):
    """The campaign's own options first, then the benchmark's (libFuzzer takes the last)."""
    return ([target] + target_options(options) +
            [f"-seed={seed}", f"-max_total_time={cap}", "-timeout=5", "-rss_limit_mb=0",
             "-max_len=4096", f"-artifact_prefix={wd}/", os.path.join(wd, "in")])


def clean_elsewhere(target, artifact, clean_so):
    """Whether the input libFuzzer saved runs clean on the clean base allocator: a timeout or
    crash it also causes there is the harness's (a slow input, a busy fork), not the bug's.
    A timeout is replayed with the campaign's -timeout; a crash with a long one, since an
    input the bug stopped early may take longer than that in full on a sound heap."""
    if not clean_so:
        return True
    limit = 5 if os.path.basename(artifact).startswith("timeout-") else 120
    env = dict(os.environ, ALLOCHECK_ALLOCATOR=clean_so)
    try:
        p = subprocess.run([target, f"-timeout={limit}", artifact], capture_output=True,
                           env=env, timeout=limit + 60)
        return p.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def libfuzzer_once(argv, env, wd, limit):
    """One libFuzzer run: the artifact it saved (crash or timeout), or None."""
    for old in glob.glob(os.path.join(wd, "crash-*")) + glob.glob(os.path.join(wd, "timeout-*")):
        os.unlink(old)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=limit + 60, env=env,
                           cwd=wd)
    except subprocess.TimeoutExpired:
        return None
    # Whatever reported it (our abort, a sanitizer's SEGV handler, libFuzzer's timeout or
    # out-of-memory), a finding leaves an artifact.
    found = glob.glob(os.path.join(wd, "crash-*")) + glob.glob(os.path.join(wd, "timeout-*"))
    return found[0] if p.returncode != 0 and found else None


def run_libfuzzer(target, so, seed, cap, corpus, work, clean_so=None):
    """Wall time to a find counted within cap, or None. A run stopped by an input that fails
    on the clean base too is started again on the corpus it grew, with another seed, for the
    time left, as continuous fuzzing restarts a target after a report."""
    wd = tempfile.mkdtemp(prefix="lf-", dir=work)
    shutil.copytree(corpus, os.path.join(wd, "in"), ignore=shutil.ignore_patterns("*.build"))
    env = dict(os.environ, ALLOCHECK_ALLOCATOR=so)
    options = os.path.join(os.path.dirname(corpus), "fuzz", "fuzz_ops.options")
    start = time.monotonic()
    try:
        for restart in range(100):
            left = cap - (time.monotonic() - start)
            if left < 1:
                return None
            argv = libfuzzer_argv(target, options, seed + 1000 * restart, int(left), wd)
            found = libfuzzer_once(argv, env, wd, left)
            took = time.monotonic() - start
            if found is None or took > cap:
                return None
            if clean_elsewhere(target, found, clean_so):
                return took
            print(f"  {os.path.basename(so)} seed {seed}: {os.path.basename(found)} at "
                  f"{took:.1f} s fails on the clean base too: not counted, run on",
                  file=sys.stderr, flush=True)
        return None
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def seeds_of(run_one, seeds, give_up):
    """Times to find, None for a miss; after a first-seed miss the rest are not run."""
    times = []
    for s in range(1, seeds + 1):
        times.append(run_one(s))
        if give_up and s == 1 and times[0] is None:
            break
    return times


def cell(times, cap):
    if not times:
        return "-", "-", "-"
    vals = [t if t is not None else float("inf") for t in times]
    med, worst = statistics.median(vals), max(vals)
    fmt = lambda v: f">{cap:g}" if v == float("inf") else f"{v:.2f}"
    within = sum(1 for t in times if t is not None and t <= 30)
    return fmt(med), fmt(worst), f"{within}/{len(times)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--lf-build")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cap", type=float, default=30)
    ap.add_argument("--lf-seeds", type=int, default=5)
    ap.add_argument("--lf-cap", type=float, default=300)
    ap.add_argument("--bugs", default="")
    ap.add_argument("--fuzz-only", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--fuzz-opt", action="append", default=[])
    ap.add_argument("--no-give-up", action="store_true")
    ap.add_argument("--work")
    a = ap.parse_args()
    exe = os.path.join(a.build, "src", "allocheck")
    if not os.access(exe, os.X_OK):
        sys.exit(f"detect.py: {exe}: not an allocheck build")
    target = a.lf_build and os.path.abspath(os.path.join(a.lf_build, "fuzz", "fuzz_ops"))
    if target and not os.access(target, os.X_OK):
        sys.exit(f"detect.py: {target}: no libFuzzer fuzz_ops there")
    corpus = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                           "corpus"))
    bugs = [b for b in discover(a.build, a.fuzz_only) if re.search(a.bugs, b[0])]
    clean = os.path.join(a.build, "tests", "bugs", "bug_none.so")
    clean = os.path.abspath(clean) if os.path.exists(clean) else None
    work = a.work or tempfile.mkdtemp(prefix="allocheck-detect-")
    os.makedirs(work, exist_ok=True)

    def one(bug):
        name, so = bug
        bi = seeds_of(lambda s: run_builtin(exe, so, s, a.cap, a.fuzz_opt, work), a.seeds,
                      not a.no_give_up)
        lf = seeds_of(lambda s: run_libfuzzer(target, so, s, a.lf_cap, corpus, work, clean),
                      a.lf_seeds, not a.no_give_up) if target else []
        row = (name,) + cell(bi, a.cap) + cell(lf, a.lf_cap)
        print("  " + " ".join(row), file=sys.stderr, flush=True)
        return row, bi, lf

    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        rows = list(pool.map(one, bugs))
    print(f"| seeded bug | built-in median s | worst s | found <= 30 s | libFuzzer median s "
          f"| worst s | found <= 30 s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row, _, _ in rows:
        print("| " + " | ".join(row) + " |")
    for label, idx in (("built-in", 1), ("libFuzzer", 2)):
        runs = [r[idx] for r in rows if r[idx]]
        if not runs:
            continue
        med_ok = sum(1 for t in runs if statistics.median(
            [x if x is not None else float("inf") for x in t]) <= 30)
        print(f"\n{label}: {med_ok} of {len(runs)} bugs found within 30 s (median of the seeds "
              f"run); seeds per bug {min(map(len, runs))}..{max(map(len, runs))}")


if __name__ == "__main__":
    main()
