#!/usr/bin/env python3
"""The hostile-input suite, as TAP: runs the cases of one group (cases_GROUP.py) against allocheck.

usage: run.py GROUP ALLOCHECK PLUGIN_DIR"""
import importlib
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite  # noqa: E402

group, exe, plugin_dir = sys.argv[1:4]
suite = Suite(os.path.abspath(exe), os.path.abspath(plugin_dir))
try:
    importlib.import_module(f"cases_{group}").run(suite)
finally:
    shutil.rmtree(suite.tmp, ignore_errors=True)
sys.exit(suite.tap())
