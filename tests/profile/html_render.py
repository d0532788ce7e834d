#!/usr/bin/env python3
"""allocheck profile's HTML report in a real browser (TAP lines; exit 0, 1, or 77 to skip): the
page is self-contained (no script, no external reference of any kind), headless Chromium loads
it without a console error with every plot in its DOM, and in its screenshot every plot's
region is drawn: not blank, several colours, and the first allocator's colour in it (its
series or bars).
Skips (exit 77) when Chromium is not installed (.ci/run installs Debian's chromium).

Usage: html_render.py ALLOCHECK"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from taplib import Tap  # noqa: E402

ALLOCHECK = sys.argv[1]
FIRST_COLOUR = (0x1F, 0x77, 0xB4)   # html.c's palette[0]


TAP = Tap(diag_lines=20)
check = TAP.ok


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def browser(exe, tmp, extra):
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--user-data-dir=" + os.path.join(tmp, "profile"),
            "--enable-logging=stderr", "--v=0"] + extra
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def unfilter(raw, width, height, bpp):
    stride, out, prev, pos = width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        ftype, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, prev[i], (a + prev[i]) >> 1, paeth(a, prev[i], c))[ftype]) & 255 \
                if ftype else line[i]
        out.append(bytes(line))
        prev = line
    return out


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, ctype = ihdr[:4]
    assert depth == 8 and ctype in (2, 6), "unexpected PNG type %d/%d" % (depth, ctype)
    bpp = 4 if ctype == 6 else 3
    return width, height, bpp, unfilter(zlib.decompress(idat), width, height, bpp)


def region_stats(img, box):
    width, height, bpp, rows = img
    x, y, w, h = box
    colours, ink, first = set(), 0, 0
    for yy in range(y + 2, min(y + h - 2, height)):
        row = rows[yy]
        for xx in range(x + 2, min(x + w - 2, width)):
            px = tuple(row[xx * bpp:xx * bpp + 3])
            colours.add(px)
            ink += px != (255, 255, 255)
            first += all(abs(px[i] - FIRST_COLOUR[i]) < 24 for i in range(3))
    return len(colours), ink / max(1, (w - 4) * (h - 4)), first


def static_checks(html):
    bad = [m for m in re.findall(r"<script|\bsrc=|\bhref=|@import|url\(|https?://[^\"']*", html)
           if m != "http://www.w3.org/2000/svg"]
    check(not bad, "self-contained: no script and no external reference", bad[:5])
    boxes = [(i, tuple(int(v) for v in m)) for i, *m in re.findall(
        r'<div class="plot" id="([^"]+)" style="left:(\d+)px;top:(\d+)px;width:(\d+)px;'
        r'height:(\d+)px"', html)]
    check(len(boxes) >= 7, "seven plots: fragmentation, speed, overhead, four over time",
          len(boxes))
    return boxes


def render(exe, tmp, page, boxes):
    height = max(b[1] + b[3] for _, b in boxes) + 40
    url = "file://" + page
    dom = browser(exe, tmp, ["--dump-dom", url])
    errors = [l for l in dom.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    check(dom.returncode == 0 and not errors, "Chromium loads the page without errors",
          "\n".join(errors) or dom.returncode)
    check(all('id="%s"' % i in dom.stdout for i, _ in boxes) and dom.stdout.count("<svg") >= 7,
          "every plot is in the parsed DOM")
    png = os.path.join(tmp, "shot.png")
    shot = browser(exe, tmp, ["--screenshot=" + png, "--window-size=1000,%d" % height, url])
    check(shot.returncode == 0 and os.path.exists(png), "Chromium writes a screenshot",
          shot.stderr[-2000:])
    return png if os.path.exists(png) else None


def main():
    exe = chromium()
    if not exe:
        print("1..0 # SKIP chromium is not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        p = subprocess.run([ALLOCHECK, "profile", "--quick", "--reps", "1", "-a", "reference",
                            "-a", "system", "--format", "html", "-o", page],
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and os.path.exists(page), "profile writes the page", p.stderr)
        html = open(page).read() if os.path.exists(page) else ""
        boxes = static_checks(html)
        png = render(exe, tmp, page, boxes) if boxes else None
        img = read_png(png) if png else None
        for name, (x, y, w, h) in boxes:
            if not img:
                break
            ncol, ink, first = region_stats(img, (x, y, w, h))
            check(ncol >= 6 and 0.02 <= ink <= 0.9 and first >= 40,
                  "plot %s is drawn (%d colours, %.0f%% ink, %d px of the first series)"
                  % (name, ncol, 100 * ink, first))
    return TAP.done()


if __name__ == "__main__":
    sys.exit(main())
