/* Self-binding: makes a plugin's calls to its own allocation functions reach its own
 * definitions. A plugin whose realloc calls malloc by name, linked without -Bsymbolic and
 * loaded RTLD_LOCAL, would otherwise bind those calls to the C library (first in the global
 * scope), and we would test a chimera. RTLD_DEEPBIND would fix that, but sanitizer runtimes
 * refuse it (docs/ARCHITECTURE.md, Loading), so we rewrite the plugin's GOT entries instead:
 * one mechanism for every build. */
#ifndef ALLOCHECK_SRC_LOAD_ELFBIND_H
#define ALLOCHECK_SRC_LOAD_ELFBIND_H

#include <stddef.h>

struct link_map;

/* For each of the plugin's dynamic relocations (GLOB_DAT, JUMP_SLOT, 64-bit absolute) against
 * a symbol named in names[i] (NULL entries ignored), points the GOT entry at targets[i].
 * Returns the number of entries rewritten, or a negative errno. */
int elfbind_rebind(struct link_map *lm, const char *const *names, void *const *targets, size_t n);

#endif
