#!/usr/bin/env python3
"""Checks every #include "..." of ours against the rooms table of docs/ARCHITECTURE.md: a file
may include its own room and the rooms its row names. Fails on any other include, on a source
folder with no row, and on a cycle among the rows. Usage: check_includes.py SOURCE_ROOT"""
import re
import sys
from pathlib import Path

ROW = re.compile(r'^\| `([^`]+)` \|(.*)\|$')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
CHECKED = ('src', 'conformance', 'include')


def read_rules(doc):
    rules = {}
    for line in doc.read_text().splitlines():
        m = ROW.match(line)
        if not m:
            continue
        allowed = m.group(2).strip()
        rules[m.group(1)] = None if allowed == 'every room' else set(re.findall(r'`([^`]+)`', allowed))
    return rules


def room_of(rel, rooms):
    """The longest room prefix of rel, or None."""
    best = None
    for r in rooms:
        if rel.startswith(r) and (best is None or len(r) > len(best)):
            best = r
    return best


def find_cycle(rules):
    state = {}

    def visit(r, path):
        state[r] = 'open'
        for d in sorted(rules.get(r) or ()):
            if state.get(d) == 'open':
                return path + [r, d]
            if d in rules and d not in state:
                c = visit(d, path + [r])
                if c:
                    return c
        state[r] = 'done'
        return None

    for r in sorted(rules):
        if r not in state and rules[r] is not None:
            c = visit(r, [])
            if c:
                return c
    return None


def problems(root, rules):
    rooms = list(rules)
    for path in sorted(p for d in CHECKED for p in (root / d).rglob('*') if p.suffix in ('.c', '.h')):
        rel = path.relative_to(root).as_posix()
        own = room_of(rel, rooms)
        if own is None or (own == 'src/' and rel.count('/') > 1):
            yield f'{rel}: in no room of docs/ARCHITECTURE.md'
            continue
        allowed = rules[own]
        for inc in INCLUDE.findall(path.read_text(errors='replace')):
            target = room_of(inc, rooms)
            if target is None or target == own or allowed is None:
                continue   # a generated header, our own room, or the CLI
            if target not in allowed:
                yield f'{rel}: includes "{inc}" ({target}), which {own} may not include'


def main():
    root = Path(sys.argv[1])
    rules = read_rules(root / 'docs' / 'ARCHITECTURE.md')
    if len(rules) < 5:
        print('check_includes: no rooms table in docs/ARCHITECTURE.md', file=sys.stderr)
        return 2
    found = list(problems(root, rules))
    cycle = find_cycle(rules)
    if cycle:
        found.append('rooms table has a cycle: ' + ' -> '.join(cycle))
    for f in found:
        print(f)
    print(f'{len(found)} problem(s) in {len(rules)} rooms')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
