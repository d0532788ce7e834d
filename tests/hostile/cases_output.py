"""Output targets: every command that writes a file (conform, generate, minimize, repro, trace
-o and fuzz --out) against stdout, character devices, FIFOs, symlinks, a full device, a missing
directory and an existing file. Regular files and new paths are written atomically (a temporary
file renamed over the target); everything else in place, and a symlink's target is written,
never the link replaced. Each case asserts the exit status, one stderr line naming the output,
no surviving process, and that the output is complete (the bytes `-o -` gives) or absent.

/dev/null, /dev/full and /dev/stdout are shared by the whole machine: a case writes the real
one only after a private stand-in (a device node made with mknod, a symlink to /proc/self/fd/1)
came through intact, so an allocheck that replaces such a node fails here without harming them.
Leaves out: bad inputs (cases_input.py)."""
import json
import os
import stat
import subprocess
import threading

from cases_input import HEADER, bugs_plugin, expect, write

NULL_DEV, FULL_DEV = os.makedev(1, 3), os.makedev(1, 7)


def fixtures(s):
    """Inputs of the commands: a failing trace for minimize and repro, a binary trace for
    trace --to-text."""
    failing = write(s, "failing.trace", HEADER + b"malloc 1 100\ncalloc 0 2^60+2 16\nfree 1\n")
    binary = s.path("in.bin")
    r = s.run(["generate", "--seed", "3", "--ops", "50", "--binary", "-o", binary], timeout=30)
    s.check("fixture: generate --binary writes a trace", r.rc == 0, r.err)
    return failing, binary


def commands(s, failing, binary):
    """Each command writing to OUT: (name, argument list with OUT last, normalizer). A
    normalizer leaves out what differs between two runs (repro's date and addresses)."""
    bug = bugs_plugin(s)
    return [
        ("conform", ["conform", "-a", "reference", "--only", "malloc-*", "--format", "json",
                     "-o"], conform_results),
        ("generate", ["generate", "--seed", "7", "--ops", "300", "-o"], None),
        ("minimize", ["minimize", "-a", bug, failing, "-o"], None),
        ("repro", ["repro", "-a", bug, failing, "-o"], repro_lines),
        ("trace", ["trace", "--to-text", binary, "-o"], None),
    ]


def conform_results(text):
    try:
        return json.loads(text)["results"]
    except (ValueError, KeyError, TypeError):
        return None


def repro_lines(text):
    return [line for line in text.splitlines() if "date:" not in line and "0x" not in line]


def complete(got, want, norm):
    if got is None or not want:
        return False
    return norm(got) == norm(want) if norm else got == want


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def is_chr(path, dev):
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == dev


def is_link(path):
    return os.path.islink(path)


def to_stdout(s, name, cmd):
    r = s.run(cmd + ["-"], timeout=120)
    expect(s, f"{name} -o - writes stdout", r, 0, also=[(r.out, "nothing on stdout")])
    return r.out


def to_device(s, name, cmd, path, dev, what):
    r = s.run(cmd + [path], timeout=120)
    rc, needle = (2, "No space left on device") if dev == FULL_DEV else (0, None)
    ok = expect(s, f"{name} -o {what}", r, rc, needle=needle,
                stdout_empty=dev == FULL_DEV,
                also=[(is_chr(path, dev), f"{path} is no longer the character device")])
    return ok and is_chr(path, dev)


def devices(s, name, cmd):
    for dev, real, tag in ((NULL_DEV, "/dev/null", "null"), (FULL_DEV, "/dev/full", "full")):
        private = s.path(f"{name}-{tag}.dev")
        os.mknod(private, stat.S_IFCHR | 0o666, dev)
        if to_device(s, name, cmd, private, dev, f"a private {real} device node"):
            to_device(s, name, cmd, real, dev, real)
        else:
            s.check(f"{name} -o {real} (not run: a private device node was replaced)", False)


def std_out(s, name, cmd, want, norm):
    link = s.path(f"{name}-stdout.link")
    os.symlink("/proc/self/fd/1", link)
    r = s.run(cmd + [link], timeout=120)
    ok = expect(s, f"{name} -o a symlink to /proc/self/fd/1", r, 0,
                also=[(is_link(link), "the symlink was replaced"),
                      (complete(r.out, want, norm), "stdout does not hold the output")])
    if not ok or not is_link(link):
        s.check(f"{name} -o /dev/stdout (not run: a private stdout symlink was replaced)", False)
        return
    r = s.run(cmd + ["/dev/stdout"], timeout=120)
    expect(s, f"{name} -o /dev/stdout", r, 0,
           also=[(is_link("/dev/stdout"), "/dev/stdout is no longer a symlink"),
                 (complete(r.out, want, norm), "stdout does not hold the output")])


def fifo(s, name, cmd, want, norm):
    path = s.path(f"{name}.fifo")
    os.mkfifo(path)
    got = []

    def reader():
        with open(path, "rb") as f:
            got.append(f.read().decode("utf-8", "replace"))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    r = s.run(cmd + [path], timeout=120)
    t.join(10)
    expect(s, f"{name} -o a FIFO with a reader", r, 0,
           also=[(stat.S_ISFIFO(os.lstat(path).st_mode), "the FIFO was replaced"),
                 (got and complete(got[0], want, norm), "the reader did not get the output")])
    if t.is_alive():   # unblock the reader if allocheck never opened the FIFO
        with open(path, "wb"):
            pass


def symlinks(s, name, cmd, want, norm):
    target, link = s.path(f"{name}-target.out"), s.path(f"{name}-file.link")
    write(s, os.path.basename(target), b"old contents\n")
    os.symlink(target, link)
    r = s.run(cmd + [link], timeout=120)
    expect(s, f"{name} -o a symlink to a file writes the file", r, 0,
           also=[(is_link(link), "the symlink was replaced"),
                 (complete(read(target), want, norm), "the target does not hold the output")])
    target, link = s.path(f"{name}-new.out"), s.path(f"{name}-dangling.link")
    os.symlink(target, link)
    r = s.run(cmd + [link], timeout=120)
    expect(s, f"{name} -o a symlink to a missing file creates the file", r, 0,
           also=[(is_link(link), "the symlink was replaced"),
                 (complete(read(target), want, norm), "the target does not hold the output")])


def missing_dir(s, name, cmd):
    path = s.path(f"missing-{name}/dir/out")
    r = s.run(cmd + [path], timeout=120)
    expect(s, f"{name} -o missing/dir/out blames the output path", r, 2,
           needle=f"missing-{name}/dir", stdout_empty=True,
           also=[(not os.path.exists(os.path.dirname(path)), "the directory was created")])


def replace(s, name, cmd, want, norm):
    """An existing regular file is replaced by rename: a hard link to the old file keeps the
    old bytes, the path gets the new ones, and no temporary file is left beside it."""
    d = s.path(f"replace-{name}")
    os.makedirs(d)
    path, keep = os.path.join(d, "out"), os.path.join(d, "old")
    with open(path, "w") as f:
        f.write("old contents\n")
    os.link(path, keep)
    r = s.run(cmd + [path], timeout=120)
    expect(s, f"{name} -o an existing file replaces it atomically", r, 0,
           also=[(complete(read(path), want, norm), "the file does not hold the output"),
                 (read(keep) == "old contents\n", "the old file was written in place"),
                 (sorted(os.listdir(d)) == ["old", "out"], f"left behind: {os.listdir(d)}")])


def file_outputs(s):
    failing, binary = fixtures(s)
    for name, cmd, norm in commands(s, failing, binary):
        want = to_stdout(s, name, cmd)
        devices(s, name, cmd)
        std_out(s, name, cmd, want, norm)
        fifo(s, name, cmd, want, norm)
        symlinks(s, name, cmd, want, norm)
        missing_dir(s, name, cmd)
        replace(s, name, cmd, want, norm)


# ---- fuzz --out ----

def fuzz_args(s, out, runs="20"):
    return ["fuzz", "-a", bugs_plugin(s), "--runs", runs, "--seed", "1", "--out", out]


def summary_files(out_text):
    files = []
    for line in out_text.splitlines():
        line = line.strip()
        if line.startswith("files:"):
            files += [f.strip() for f in line[len("files:"):].split(",") if f.strip()]
    return files


def whole(s, path):
    """A finding file is complete: a trace loads, a reproducer ends its main function."""
    if path.endswith(".c"):
        text = read(path)
        return text is not None and text.rstrip().endswith("}")
    r = subprocess.run([s.exe, "trace", "--to-text", path], capture_output=True)
    return r.returncode == 0


def fuzz_finding(s):
    out = s.path("findings")
    r = s.run(fuzz_args(s, out), timeout=120)
    files = summary_files(r.out)
    cwd_files = [os.path.join(s.tmp, f) for f in files]
    expect(s, "fuzz --out: a finding's summary lists only whole files that exist", r, 1,
           also=[(files, "the summary lists no files"),
                 (all(os.path.exists(f) for f in cwd_files), "a listed file is missing"),
                 (all(whole(s, f) for f in cwd_files if os.path.exists(f)),
                  "a listed file is not whole")])
    target, link = s.path("findings-target"), s.path("findings.link")
    os.makedirs(target)
    os.symlink(target, link)
    r = s.run(fuzz_args(s, link), timeout=120)
    expect(s, "fuzz --out: a symlink to a directory is followed", r, 1,
           also=[(is_link(link), "the symlink was replaced"),
                 (os.listdir(target), "no findings in the target directory")])


def fuzz_bad_out(s):
    regular = write(s, "regular-out", b"not a directory\n")
    r = s.run(fuzz_args(s, regular), timeout=60)
    expect(s, "fuzz --out: a regular file is refused before fuzzing", r, 2,
           needle="regular-out", stdout_empty=True,
           also=[(read(regular) == "not a directory\n", "the file was changed")])
    r = s.run(fuzz_args(s, "/proc"), timeout=60)
    expect(s, "fuzz --out: an unwritable directory is refused before fuzzing", r, 2,
           needle="/proc", stdout_empty=True)
    dev = s.path("fuzz-null.dev")
    os.mknod(dev, stat.S_IFCHR | 0o666, NULL_DEV)
    r = s.run(fuzz_args(s, dev), timeout=60)
    expect(s, "fuzz --out: a device node is refused before fuzzing", r, 2,
           needle="fuzz-null.dev", stdout_empty=True,
           also=[(is_chr(dev, NULL_DEV), "the device node was replaced")])
    full_disk(s)


def full_disk(s):
    """A tmpfs of one page, filled: --out is refused before any fuzzing."""
    mnt = s.path("full-disk")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        s.check("fuzz --out: a full disk (not run: cannot mount a tmpfs here)", True)
        return
    try:
        try:
            with open(os.path.join(mnt, "filler"), "wb") as f:
                f.write(b"x" * 65536)
        except OSError:
            pass
        out = os.path.join(mnt, "findings")
        r = s.run(fuzz_args(s, out), timeout=60)
        expect(s, "fuzz --out: a full disk is refused before fuzzing", r, 2,
               needle="No space left on device", stdout_empty=True,
               also=[(not os.path.exists(out) or not os.listdir(out), "findings half-written")])
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def generate_binary_default(s):
    path = s.path("default.bin")
    r = s.run(["generate", "--binary", "-o", path], timeout=60)
    data = open(path, "rb").read() if os.path.exists(path) else b""
    expect(s, "generate --binary with the default op count writes a binary trace", r, 0,
           also=[(data.startswith(b"\x7fACT"), "no binary trace written")])


def run(s):
    file_outputs(s)
    fuzz_finding(s)
    fuzz_bad_out(s)
    generate_binary_default(s)
