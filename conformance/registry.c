/* Every conformance check in one stable order (the order of conformance/checks.h), so ids,
 * reports and expectation files line up run after run. */
#include "conformance/checks.h"

#define CONFORM_ENTRY(name) &check_##name,
const check_t *const conform_checks[] = {
    CONFORM_CHECK_LIST(CONFORM_ENTRY)
};
#undef CONFORM_ENTRY

const size_t conform_check_count = sizeof conform_checks / sizeof conform_checks[0];
