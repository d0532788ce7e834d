#include <stdio.h>
#include "src/harden/repro.h"
int harden_repro_write(const char *path, const misuse_t *c, const alloc_t *a, char *err,
                       size_t errlen)
{
    (void)path; (void)c; (void)a;
    snprintf(err, errlen, "not yet");
    return -1;
}
