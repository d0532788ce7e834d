/* The public header compiles on its own under strict C99 and pedantic warnings, and its layout
 * is frozen: a plugin built against ABI version 1 must keep working. TAP on stdout. */
#include "allocheck/plugin.h"

#include <stddef.h>
#include <stdio.h>

#include "tests/tap.h"

#define FROZEN(member, off) { #member, offsetof(struct allocheck_plugin, member), off }

int main(void)
{
    static const struct { const char *name; size_t got, want; } layout[] = {
        FROZEN(abi_version, 0), FROZEN(struct_size, 4), FROZEN(name, 8), FROZEN(ctx, 16),
        FROZEN(init, 24), FROZEN(fini, 32), FROZEN(malloc, 40), FROZEN(free, 72),
        FROZEN(free_aligned_sized, 136), FROZEN(min_alignment, 144), FROZEN(heap_size, 152),
        FROZEN(flags, 160), FROZEN(max_alignment, 168), FROZEN(reserved, 176),
    };
    /* Frozen on 64-bit machines; elsewhere the offsets are only printed. */
    size_t lp64 = sizeof(void *) == 8;
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++)
        CHECK_UINT(lp64 ? layout[i].got : 0, ==, lp64 ? layout[i].want : 0, "offsetof(%s) = %zu",
                   layout[i].name, layout[i].got);
    CHECK_UINT(lp64 ? sizeof(struct allocheck_plugin) : 0, ==, lp64 ? 216 : 0,
               "sizeof(struct allocheck_plugin) = %zu", sizeof(struct allocheck_plugin));
    return tap_done();
}
