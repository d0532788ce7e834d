/* A plugin whose constructor crashes (-DCRASH) or aborts with a message (default): loading it
 * must be a one-line error, not a dead tool. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void refuse_to_start(void)
{
#ifdef CRASH
    raise(SIGSEGV);
#else
    static const char msg[] = "bad_ctor: refusing to start\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
#endif
}
