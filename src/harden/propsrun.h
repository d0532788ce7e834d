/* Running the properties (src/harden/props.h) of each allocator in children: the extra rows
 * of the harden matrix. Leaves out: what each property measures (props.c). */
#ifndef ALLOCHECK_SRC_HARDEN_PROPSRUN_H
#define ALLOCHECK_SRC_HARDEN_PROPSRUN_H

#include <stddef.h>

#include "src/load/alloc.h"

#define HARDEN_PROP_VALUE 96

/* Fills values[ai * harden_prop_count() + i] with property i of allocs[ai], "error: ..." for a
 * measurement that died or timed out. Returns 0 or -ENOMEM. */
int harden_props_run(const alloc_t *allocs, size_t nallocs, unsigned timeout_ms,
                     char (*values)[HARDEN_PROP_VALUE]);

/* The hidden mode that samples one fresh process: `allocheck __harden-sample SPEC` loads SPEC
 * and prints "sample ADDRESS" (src/harden/props.h, harden_prop_sample). main() hands argv to
 * harden_sample_main when argv[1] is HARDEN_SAMPLE_ARG; it returns the exit status. */
#define HARDEN_SAMPLE_ARG "__harden-sample"
int harden_sample_main(int argc, char **argv);

#endif
