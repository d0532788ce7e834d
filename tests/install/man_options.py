#!/usr/bin/env python3
"""The manual page's source names every command (as a `## command` section) and every long
option of every command that `allocheck COMMAND --help` prints, so the page cannot fall
behind the tool. TAP: one test per command.
usage: man_options.py ALLOCHECK docs/allocheck.1.scd"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

GENERIC = {"--help", "--usage", "--version"}


def help_text(exe, *args):
    return subprocess.run([exe, *args, "--help"], capture_output=True, text=True).stdout


def commands(exe):
    text = help_text(exe)
    block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def main():
    exe, page = sys.argv[1], open(sys.argv[2]).read()
    sections = set(re.findall(r"^## (\S+)", page, re.M))
    named = set(re.findall(r"--[a-z][a-z0-9-]*", page))
    tap = Tap()
    for cmd in commands(exe):
        opts = set(re.findall(r"--[a-z][a-z0-9-]*", help_text(exe, cmd))) - GENERIC
        missing = sorted(opts - named) + ([] if cmd in sections else [f"section ## {cmd}"])
        tap.ok(not missing, f"the manual covers {cmd}", f"missing: {', '.join(missing)}")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
