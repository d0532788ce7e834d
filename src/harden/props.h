/* Hardening properties of an allocator, measured rather than judged: what it does with a block
 * after free (how soon it comes back, whether it is cleared), where blocks sit (adjacency,
 * address entropy), and what protects them (guard pages, inline or out-of-band metadata, an
 * executable heap). Each measurement runs in the calling process, which should be a fresh
 * child with the allocator loaded: it allocates, frees and leaves the heap in whatever state
 * the measurement needed.
 * Terms: "value" is the short text a property measures to ("LIFO", "quarantine 8", "no");
 * "sample" is one fresh process's contribution to a property that needs several processes.
 * Leaves out: running children (the harden runner's job), and misuse, which the catalogue
 * drives: nothing here frees a block twice or writes outside one. */
#ifndef ALLOCHECK_SRC_HARDEN_PROPS_H
#define ALLOCHECK_SRC_HARDEN_PROPS_H

#include <stddef.h>
#include <stdint.h>

struct alloc;

size_t harden_prop_count(void);
const char *harden_prop_id(size_t i);        /* "reuse-distance", "entropy-bits", ... */
const char *harden_prop_what(size_t i);      /* one line */
/* Measures property i of the loaded allocator in the calling (child) process; writes a short
   value ("LIFO", "quarantine 64", "17.2 bits", "yes", "no") into buf. 0, or -1 with buf holding
   the reason. */
int harden_prop_measure(size_t i, const struct alloc *a, char *buf, size_t n);

/* Address entropy needs fresh processes: a fork shares its parent's layout. For the property
 * harden_prop_needs_samples() names, the runner calls harden_prop_sample() once in each of
 * HARDEN_PROP_SAMPLES freshly exec'd processes and gives the samples to harden_prop_entropy(),
 * which writes the value. harden_prop_measure() on it returns -1 saying so. */
#define HARDEN_PROP_SAMPLES 16
int harden_prop_needs_samples(size_t i);
/* The address of the first small block this process gets (0 when malloc fails). */
uintptr_t harden_prop_sample(const struct alloc *a);
/* The bits that vary across the n samples ("28 bits, 0 below the page"); 0, or -1 with buf
 * holding the reason (fewer than 2 samples, or a failed one). */
int harden_prop_entropy(const uintptr_t *samples, size_t n, char *buf, size_t len);

#endif
