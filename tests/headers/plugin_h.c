/* The public header compiles on its own under strict C99 and pedantic warnings, and its layout
 * is frozen: a plugin built against ABI version 1 must keep working. TAP on stdout. */
#include "allocheck/plugin.h"

#include <stddef.h>
#include <stdio.h>

#define FROZEN(member, off) { #member, offsetof(struct allocheck_plugin, member), off }

int main(void)
{
    static const struct { const char *name; size_t got, want; } layout[] = {
        FROZEN(abi_version, 0), FROZEN(struct_size, 4), FROZEN(name, 8), FROZEN(ctx, 16),
        FROZEN(init, 24), FROZEN(fini, 32), FROZEN(malloc, 40), FROZEN(free, 72),
        FROZEN(free_aligned_sized, 136), FROZEN(min_alignment, 144), FROZEN(heap_size, 152),
        FROZEN(flags, 160), FROZEN(max_alignment, 168), FROZEN(reserved, 176),
    };
    size_t n = sizeof layout / sizeof layout[0];
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = sizeof(void *) != 8 || layout[i].got == layout[i].want;
        bad |= !ok;
        printf("%s %zu - offsetof(%s) = %zu\n", ok ? "ok" : "not ok", i + 1, layout[i].name,
               layout[i].got);
    }
    int size_ok = sizeof(void *) != 8 || sizeof(struct allocheck_plugin) == 216;
    printf("%s %zu - sizeof(struct allocheck_plugin) = %zu\n", size_ok ? "ok" : "not ok", n + 1,
           sizeof(struct allocheck_plugin));
    printf("1..%zu\n", n + 1);
    return bad || !size_ok;
}
