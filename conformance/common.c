/* Checks across every function: which functions exist, alignment of every result, distinct
 * live blocks never overlapping, and every byte of a block (and of its usable size) writable
 * without touching a neighbour. Sweeps are tables of sizes run against each function. */
#include <stdio.h>
#include <string.h>

#include "conformance/checks.h"
#include "conformance/util.h"

static void run_functions_present(check_ctx_t *c)
{
    char list[256] = "";
    size_t len = 0;
    int n = 0;

    for (int f = 0; f < AF_COUNT; f++) {
        if (!alloc_has(c->a, (alloc_fn_t)f))
            continue;
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n ? " " : "",
                                alloc_fn_names[f]);
        if (len >= sizeof list)
            break;
        n++;
    }
    check_behaviour(c, "%d of %d functions present: %s", n, (int)AF_COUNT, list);
    expect_true(c, alloc_has(c->a, AF_MALLOC) && alloc_has(c->a, AF_FREE),
                "malloc and free are required (C17 7.22.3), present: %s", list);
}

const check_t check_functions_present = {
    "functions-present", "*", "C17 7.22.3",
    "reports which of the 14 entry points the allocator provides", 0, 0,
    run_functions_present,
};
