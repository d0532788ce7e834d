/* The list of every check, in registry order, as an X-macro: CHECK(name) names the check_t
 * object `check_<name>` defined in its family file. registry.c expands it into
 * conform_checks[]; family files include it for the declarations, so the compiler sees every
 * check declared before it is defined. Add a check: define it in its family, add one line here. */
#ifndef ALLOCHECK_CONFORMANCE_CHECKS_H
#define ALLOCHECK_CONFORMANCE_CHECKS_H

#include "conformance/check.h"

#define CONFORM_CHECK_LIST(CHECK) \
    CHECK(functions_present)

#define CONFORM_DECLARE(name) extern const check_t check_##name;
CONFORM_CHECK_LIST(CONFORM_DECLARE)
#undef CONFORM_DECLARE

#endif
