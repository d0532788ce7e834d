"""The Python tests' one TAP helper: numbered `ok`/`not ok` lines as the checks run, a failed
comparison shows both sides, diagnostics as `# ` lines, the plan last (done) or alone when the
whole test is skipped (skip_all). Thread-safe: checks made from worker threads keep their
numbers and lines whole. A deferred Tap prints nothing until done (plan first), so a harness
may still amend a result (`results[i] = (good, what, diag)`) after its check.

A test script in tests/DIR/ imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from taplib import Tap

Leaves out: TAP 14 subtests and YAML blocks, todo directives."""
import sys
import threading


class Tap:
    def __init__(self, diag_lines=None, deferred=False):
        """diag_lines: at most this many lines of a failed check's diagnostic (None: all)."""
        self.n = 0
        self.failed = 0
        self.diag_lines = diag_lines
        self.deferred = deferred
        self.results = []           # (good, what, diag) of every check, in order
        self._lock = threading.Lock()

    def ok(self, cond, what, diag=""):
        """One check: cond true passes. Returns cond as a bool."""
        cond = bool(cond)
        with self._lock:
            self.results.append((cond, what, diag))
            if not self.deferred:
                self._line(len(self.results), cond, what, diag)
        return cond

    def _line(self, n, good, what, diag):
        self.n = n
        self.failed += not good and "# TODO" not in what   # TAP: a known failure, not counted
        print(f"{'ok' if good else 'not ok'} {n} - {what}")
        if not good and diag:
            self._diag(diag)
        sys.stdout.flush()

    def eq(self, got, want, what, diag=""):
        """got == want; a failure prints both."""
        good = got == want
        return self.ok(good, what, "" if good else f"got:  {got!r}\nwant: {want!r}\n{diag}")

    def has(self, text, needle, what, diag=""):
        """needle in text; a failure prints both."""
        good = text is not None and needle in text
        return self.ok(good, what, "" if good else
                       f"looked for: {needle!r}\nin:         {text!r}\n{diag}")

    def skip(self, what, why):
        """A check that cannot run here counts as passed, marked SKIP with why."""
        return self.ok(True, f"{what} # SKIP {why}")

    def diag(self, text):
        with self._lock:
            self._diag(text)

    def _diag(self, text):
        lines = str(text).rstrip().splitlines()
        for line in lines[:self.diag_lines] if self.diag_lines else lines:
            print(f"# {line}")

    def done(self):
        """Prints the plan (and a deferred Tap's lines); returns the exit status (1 if any
        check failed)."""
        if self.deferred:
            print(f"1..{len(self.results)}")
            for n, (good, what, diag) in enumerate(self.results, 1):
                self._line(n, good, what, diag)
            return 1 if self.failed else 0
        print(f"1..{self.n}")
        sys.stdout.flush()
        return 1 if self.failed else 0

    @staticmethod
    def skip_all(why):
        """The whole test cannot run here: an empty plan with the reason, exit 0."""
        print(f"1..0 # SKIP {why}")
        sys.exit(0)
