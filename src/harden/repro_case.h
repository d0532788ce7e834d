/* Stand-in for the generated part of a harden reproducer, so src/harden/repro_rt.c compiles
 * and runs on its own (tests/harden): what the tool writes here instead is the allocator, the
 * case id, the outcome it expects, and the body of the case's family file (misuse/). */
#define REPRO_LIB ""          /* "" : the C library's allocator */
#define REPRO_PREFIX ""
#define REPRO_CASE "stub-double-free"
#define REPRO_EXPECT "detected"

static void run_stub(mz_t *h)
{
    void *p = mz_must(h, 32);
    if (!p)
        return;
    mz_begin(h, 32);
    mz_free(h, p);
    mz_free(h, p);
    mz_end(h);
}
MISUSE(stub, "stub-double-free", "the same block freed twice", "new", 0, 0)
