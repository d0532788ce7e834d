/* The build's stand-in for the part allocheck writes into each reproducer (src/engine/repro.c): the
 * allocator, the options and the ops. Here the C library's allocator runs every kind of op
 * once, all of them correct requests, so the runtime compiles in every build and a test runs
 * it (a clean run, exit 0). */
static const int MODE = MODE_LIBC;
static const char LIB[] = "";
static const char *const SYM[F_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "aligned_alloc", "posix_memalign",
    "memalign", "valloc", "pvalloc", "malloc_usable_size", 0, 0, 0,
};
static const uint64_t SEED = 0x616c6c6f63686b31ull;
static const int CHECK = CHECK_FULL, CHECK_ERRNO = 1, SIZE_DEPENDENT_ALIGN = 1, FIXED_HEAP = 0,
                 DELAYED_REUSE = 0;
static const size_t HEAP_SIZE = 0, MAX_ALIGN = 0;
static const size_t MALLOC_ALIGN = 16, MAX_LIVE = (size_t)256 << 20, FULL_CHECK_MAX = 0;
static const unsigned HANG_MS = 3000;
static const int LEAK_CHECK = 0;
static const struct op OPS[] = {
    { K_MALLOC, 0, 0, 100, 0, "malloc 0 100" },
    { K_CALLOC, 1, 3, 40, 0, "calloc 1 3 40" },
    { K_REALLOC, 0, 0, 5000, 0, "realloc 0 5000" },
    { K_REALLOCARRAY, 1, 2, 30, 0, "reallocarray 1 2 30" },
    { K_ALIGNED_ALLOC, 2, 0, 64, 64, "aligned_alloc 2 64 64" },
    { K_POSIX_MEMALIGN, 3, 0, 24, 256, "posix_memalign 3 256 24" },
    { K_MEMALIGN, 4, 0, 8, 32, "memalign 4 32 8" },
    { K_VALLOC, 5, 0, 10, 0, "valloc 5 10" },
    { K_PVALLOC, 6, 0, 10, 0, "pvalloc 6 10" },
    { K_USABLE, 0, 0, 0, 0, "usable 0" },
    { K_THREAD, 1, 0, 0, 0, "thread 1" },
    { K_MALLOC, 7, 0, 1, 0, "malloc 7 1" },
    { K_FREE_SIZED, 1, 0, 0, 0, "free_sized 1" },
    { K_THREAD, 0, 0, 0, 0, "thread 0" },
    { K_CALLOC, 8, 1ull << 62, 8, 0, "calloc 8 2^62 8" },
    { K_REALLOC, 0, 0, 0, 0, "realloc 0 0" },
    { K_FREE_ALIGNED_SIZED, 2, 0, 0, 0, "free_aligned_sized 2" },
    { K_FREE, 9, 0, 0, 0, "free 9" },
    { K_CHECK, 0, 0, 0, 0, "check" },
};
