#!/usr/bin/env python3
"""The README's plugin example works as printed: cuts the C block under "## Writing a plugin"
out of README.md, builds it with the README's own command (its include flags from pkg-config,
pointed at the build tree) against tlsf.h here, and requires `allocheck conform` to report no
failure for it. TAP on stdout.

usage: readme_example.py ALLOCHECK README.md THIS_DIR SOURCE_ROOT PKGCONFIG_DIR"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from taplib import Tap  # noqa: E402

exe, readme, here, root, pcdir = sys.argv[1:6]
tap = Tap(diag_lines=12)
check = tap.ok


text = open(readme, encoding="utf-8").read()
section = text.split("## Writing a plugin", 1)[-1]
block = re.search(r"```c\n(.*?)```", section, re.S)
check(block, "README.md has a C example under 'Writing a plugin'")
build = re.search(r"`(cc -shared[^`]*)`", section, re.S)
check(build and "pkg-config" in build.group(1), "README.md gives the build command with pkg-config")
tmp = tempfile.mkdtemp(prefix="allocheck-readme-")
if block and build:
    with open(os.path.join(tmp, "shim.c"), "w") as f:
        f.write(block.group(1))
    for name in ("tlsf.h", "tlsf.c", "ffheap.h", "ffheap.c"):
        shutil.copy(os.path.join(here, name), tmp)
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    cmd = " ".join(build.group(1).split()) + f" ffheap.c -I{root}"
    p = subprocess.run(["sh", "-c", cmd], cwd=tmp, env=env, capture_output=True, text=True)
    lib = os.path.join(tmp, "libtlsf-allocheck.so")
    check(p.returncode == 0 and os.path.exists(lib), "the example builds as printed: " + cmd,
          p.stderr)
    if os.path.exists(lib):
        r = subprocess.run([exe, "conform", "-a", lib, "--format", "json"], capture_output=True,
                           text=True, timeout=110)
        doc = json.loads(r.stdout) if r.stdout.startswith("{") else {"results": []}
        fails = [f"{x['id']}: {x['message']}" for x in doc["results"] if x["verdict"] == "fail"]
        check(r.returncode == 0 and doc["results"] and not fails,
              f"conform reports no failure for the example (exit {r.returncode})",
              "\n".join(fails[:10]) or r.stderr)
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(tap.done())
