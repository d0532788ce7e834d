#!/usr/bin/env python3
"""bench/detect.py runs libFuzzer as a campaign runs it, as TAP: the [libfuzzer] options of
fuzz/fuzz_ops.options (its dictionary, found next to the file) come first, the benchmark's own
flags after them, so libFuzzer (the last flag wins) keeps the benchmark's timeout and cap; and
a saved input counts as a find only if it runs clean on the clean base allocator (checked with
the standalone fuzz_ops, which ignores libFuzzer's flags); one that fails there too does not
stop the run: a stand-in for libFuzzer that first saves such an input, then a real one, is
timed to the second.

usage: detect_argv_test.py SRCDIR FUZZ_OPS CLEAN.so DIRTY_CALLOC.so
Leaves out: running libFuzzer (bench/detect.py with --lf-build)."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

SRC, TARGET, CLEAN, DIRTY = sys.argv[1:5]
sys.path.insert(0, os.path.join(SRC, "bench"))
import detect  # noqa: E402

tap = Tap()
options = os.path.join(SRC, "fuzz", "fuzz_ops.options")
argv = detect.libfuzzer_argv("fuzz_ops", options, 3, 300, "/w")
dicts = [a[len("-dict="):] for a in argv if a.startswith("-dict=")]
tap.ok(len(dicts) == 1 and os.path.isfile(dicts[0]),
       "the options' dictionary is passed, by a path that exists", argv)
timeouts = [a for a in argv if a.startswith("-timeout=")]
tap.ok(timeouts[-1] == "-timeout=5", "the benchmark's -timeout comes last", argv)
tap.ok(argv[-1] == "/w/in" and "-seed=3" in argv and "-max_total_time=300" in argv,
       "seed, cap and the corpus copy are the benchmark's", argv)
tap.ok(detect.target_options(os.path.join(SRC, "no-such.options")) == [],
       "a target without an options file gets no extra flags")
trace = os.path.join(SRC, "corpus", "calloc-recycled.trace")
tap.ok(detect.clean_elsewhere(TARGET, trace, CLEAN), "an input clean on the base: counted")
tap.ok(not detect.clean_elsewhere(TARGET, trace, DIRTY),
       "an input that fails on the allocator taken as clean: not counted")
# The stand-in: as a campaign it saves timeout-1 on its first run, crash-2 on its second (its
# seed flag tells them apart); replaying an artifact (the clean check: -timeout=5 for a
# timeout, 120 for a crash) fails for timeout-1.
FAKE = r"""#!/bin/sh
case "$*" in
*-timeout=5\ */timeout-1) exit 1 ;;
*-timeout=120\ */crash-2) exit 0 ;;
*-seed=7\ *) : > timeout-1; exit 1 ;;
*) : > crash-2; exit 1 ;;
esac
"""
work = tempfile.mkdtemp(prefix="detect-argv-")
fake = os.path.join(work, "fake_fuzzer")
with open(fake, "w") as f:
    f.write(FAKE)
os.chmod(fake, 0o755)
corpus = os.path.join(work, "corpus")
os.makedirs(corpus)
took = detect.run_libfuzzer(fake, CLEAN, 7, 60, corpus, work, clean_so=CLEAN)
tap.ok(took is not None and took < 60, "a run stopped by an input the clean base fails too "
       "goes on and counts the next find", took)
shutil.rmtree(work, ignore_errors=True)
sys.exit(tap.done())
