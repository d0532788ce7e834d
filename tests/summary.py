#!/usr/bin/env python3
"""Prints the last line CI reads, 'N passed, N failed', from Meson's test log (JSON lines).
Skipped tests are counted apart; expected failures count as passed, unexpected passes as failed."""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line:
        continue
    result = json.loads(line).get("result", "")
    if result in ("OK", "EXPECTEDFAIL"):
        counts["passed"] += 1
    elif result == "SKIP":
        counts["skipped"] += 1
    else:
        counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
