"""Plugins that misbehave while being loaded: every command that loads survives them.

A constructor that blocks is a load error once ALLOCHECK_LOAD_TIMEOUT passes (1 s here); one
that forks neither delays loading nor leaves its child behind; one that prints never reaches
allocheck's stdout; one that exits or crashes is a load error. Each for every command that
loads: allocators, conform, fuzz, replay, minimize, repro, list -a."""

from harness import parses_json

FAST = {"ALLOCHECK_LOAD_TIMEOUT": "1"}


def trace(s):
    return s.trace("loading.trace", 3, 60)


def commands(s, plugin):
    """Every command that loads, with arguments that would otherwise succeed quickly."""
    t = trace(s)
    return {
        "allocators": ["allocators", "-a", plugin],
        "conform": ["conform", "--only", "malloc-align", "-a", plugin],
        "fuzz": ["fuzz", "--runs", "1", "-o", s.path("loading-findings"), "-a", plugin],
        "replay": ["replay", "-a", plugin, t],
        "minimize": ["minimize", "-a", plugin, "-o", s.path("loading.min.trace"), t],
        "repro": ["repro", "-a", plugin, "-o", s.path("loading.c"), t],
        "list": ["list", "-a", plugin],
    }


def blocking(s):
    plugin = s.plugin("ctor_block")
    for cmd, args in commands(s, plugin).items():
        r = s.run(args, timeout=20, env=FAST)
        s.expect(f"{cmd}: a constructor that blocks is a load error after the timeout", r, 2,
                 needle=plugin, stdout_empty=True)
        s.check(f"{cmd}: the blocking constructor's error names the timeout",
                "did not finish loading" in r.err, r.err)


def dying(s):
    for variant in ("ctor_crash", "ctor_exit"):
        plugin = s.plugin(variant)
        for cmd, args in commands(s, plugin).items():
            r = s.run(args, timeout=30)
            s.expect(f"{cmd}: a constructor that does {variant} is a load error", r, 2,
                     needle=plugin, stdout_empty=True)


def forking(s):
    """The forked child sleeps 5 s holding every inherited fd: waiting for EOF would take
    that long, and a child forked by the constructor in allocheck itself would outlive it."""
    plugin = s.plugin("ctor_fork")
    for cmd, args in commands(s, plugin).items():
        if cmd in ("minimize", "fuzz"):
            continue  # their outcome depends on findings, not on loading; see printing()
        r = s.run(args, timeout=4)
        s.expect(f"{cmd}: a constructor that forks neither delays loading nor survives",
                 r, 0)


def printing(s):
    plugin = s.plugin("ctor_print")
    r = s.run(["allocators", "--format", "json", "-a", plugin], timeout=30)
    s.expect("allocators --format json: a constructor that prints", r, 0)
    s.check("allocators --format json with a printing constructor is JSON", parses_json(r.out),
            r.out[:300])
    r = s.run(["list", "--format", "json", "-a", plugin], timeout=30)
    s.expect("list --format json: a constructor that prints", r, 0)
    s.check("list --format json with a printing constructor is JSON", parses_json(r.out),
            r.out[:300])
    r = s.run(["conform", "--only", "malloc-align", "--format", "json", "-a", plugin],
              timeout=60)
    s.expect("conform --format json: a constructor that prints", r, 0)
    s.check("conform --format json with a printing constructor is JSON", parses_json(r.out),
            r.out[:300])
    r = s.run(commands(s, plugin)["replay"], timeout=30)
    s.expect("replay: a constructor that prints", r, 0)
    s.check("replay: the constructor's output is not on stdout", "from the constructor" not in r.out,
            r.out[:300])
    r = s.run(["minimize", "-a", plugin, "-o", "-", trace(s)], timeout=30)
    s.check("minimize -o -: the constructor's output is not on stdout",
            "from the constructor" not in r.out and not r.survivors, r.out[:300])


def bad_env(s):
    for var, value in (("ALLOCHECK_LOAD_TIMEOUT", "soon"), ("ALLOCHECK_LOAD_TIMEOUT", "0"),
                       ("ALLOCHECK_DATA_LIMIT", "lots")):
        r = s.run(["allocators", "-a", s.plugin("ctor_print")], env={var: value})
        s.expect(f"{var}={value} is a usage error", r, 2, needle=var, stdout_empty=True)



def run(s):
    blocking(s)
    dying(s)
    forking(s)
    printing(s)
    bad_env(s)
