/* The allocator's memory footprint, as the kernel sees it (docs/ARCHITECTURE.md, Footprint).
 * Terms: "resident" is the bytes of counted mappings in RAM (smaps Rss); "mapped" is their size
 * (smaps Size). Counted mappings are the process's anonymous ones ([heap], unnamed, [anon:...])
 * minus the harness's own: the ranges registered with footprint_exclude(), the executable's
 * own data and bss, and the buffer this module reads into.
 * Leaves out: file-backed and shared mappings (an allocator's memfd heap is not seen), and
 * the harness's unregistered anonymous memory; callers that need the allocator alone take a
 * delta from a baseline read in the same process before the workload. */
#ifndef ALLOCHECK_SRC_FOOTPRINT_MEASURE_H
#define ALLOCHECK_SRC_FOOTPRINT_MEASURE_H

#include <stddef.h>
#include <stdint.h>

struct footprint { uint64_t resident; uint64_t mapped; };   /* bytes */

/* The allocator's footprint now: resident and mapped bytes of the process's anonymous and
   heap mappings, minus the mappings registered with footprint_exclude(). 0 or -1. */
int footprint_read(struct footprint *out);

/* A harness-owned region (shadow model, op arrays, trace buffers) the reading leaves out. */
void footprint_exclude(const void *addr, size_t len);

/* Forgets a region registered with footprint_exclude() (about to be unmapped: the addresses
 * may become the allocator's). */
void footprint_include(const void *addr, size_t len);

/* A cheap, coarse reading for deciding when to take a real one: resident + mapped pages of
 * the whole process from /proc/self/statm, in bytes (harness included). 0 on failure. */
uint64_t footprint_coarse(void);

#endif
