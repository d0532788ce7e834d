/* Every misuse case in one stable order (the order of misuse/cases.h), so ids, matrices and
 * pinned outcomes line up run after run. */
#include "misuse/cases.h"

#define MISUSE_ENTRY(name) &misuse_##name,
const misuse_t *const misuse_cases[] = {
    MISUSE_CASE_LIST(MISUSE_ENTRY)
};
#undef MISUSE_ENTRY

const size_t misuse_case_count = sizeof misuse_cases / sizeof misuse_cases[0];
