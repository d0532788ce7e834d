/* Running the properties (src/harden/props.h) of each allocator in children: the extra rows
 * of the harden matrix. Leaves out: what each property measures (props.c). */
#ifndef ALLOCHECK_SRC_HARDEN_PROPSRUN_H
#define ALLOCHECK_SRC_HARDEN_PROPSRUN_H

#include <stddef.h>

#include "src/alloc.h"

#define HARDEN_PROP_VALUE 96

/* Fills values[ai * harden_prop_count() + i] with property i of allocs[ai], "error: ..." for a
 * measurement that died or timed out. Returns 0 or -ENOMEM. */
int harden_props_run(const alloc_t *allocs, size_t nallocs, unsigned timeout_ms,
                     char (*values)[HARDEN_PROP_VALUE]);

#endif
