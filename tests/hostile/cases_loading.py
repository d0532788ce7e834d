"""Plugins that misbehave while being loaded: every command that loads survives them."""

def run(s):
    for variant, rc in (("ctor_crash", 2), ("ctor_exit", 2)):
        r = s.run(["allocators", "-a", s.plugin(variant)], timeout=30)
        s.expect(f"allocators: a constructor that does {variant} is a load error", r, rc,
                 needle=s.plugin(variant), stdout_empty=True)
