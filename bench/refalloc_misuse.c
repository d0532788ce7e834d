/* A double free, for bench/refalloc_checks.sh to tell which build of the reference allocator
 * it was given: under the checked build this dies of SIGABRT, under REF_CHECKS=0 it exits 0. */
#include <stdlib.h>

int main(void)
{
    void *volatile p = malloc(32);
    free(p);
    // cppcheck-suppress doubleFree
    free(p);
    return 0;
}
