#!/usr/bin/env python3
"""Proves check_includes.py can fail: a tree whose load room includes the engine, a file in no
room, and a table with a cycle are each reported; the clean tree is not. TAP."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from taplib import Tap  # noqa: E402

CHECK = Path(__file__).with_name('check_includes.py')
TABLE = """| room | may include |
|---|---|
| `include/` | |
| `src/base/` | |
| `src/load/` | `src/base/`, `include/`{extra} |
| `src/engine/` | `src/base/`, `src/load/` |
| `src/cli/` | every room |
"""


def run(files, extra=''):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / 'docs').mkdir()
        (root / 'docs' / 'ARCHITECTURE.md').write_text(TABLE.format(extra=extra))
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        r = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
        return r.returncode, r.stdout


CLEAN = {
    'src/base/a.h': '',
    'src/load/b.c': '#include "src/base/a.h"\n#include "gen.h"\n',
    'src/engine/c.c': '#include "src/load/b.h"\n',
    'src/cli/main.c': '#include "src/engine/c.h"\n',
}
cases = [
    ('a clean tree passes', CLEAN, '', 0, '0 problem'),
    ('load including the engine fails', dict(CLEAN, **{'src/load/d.c': '#include "src/engine/c.h"\n'}),
     '', 1, 'src/load/d.c: includes "src/engine/c.h"'),
    ('a folder with no row fails', dict(CLEAN, **{'src/stray/e.c': ''}), '', 1, 'src/stray/e.c: in no room'),
    ('a cycle in the table fails', CLEAN, ', `src/engine/`', 1, 'cycle'),
]
tap = Tap()
for name, files, extra, want_rc, want_text in cases:
    rc, out = run(files, extra)
    tap.ok(rc == want_rc and want_text in out, name, f'rc {rc}, output: {out!r}')
sys.exit(tap.done())
