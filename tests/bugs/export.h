/* How base.c presents its x_* functions: as the 13 standard names (the default), or with
 * -DAS_DESCRIPTOR=1 as the `allocheck_plugin` descriptor of include/allocheck/plugin.h, so
 * the same bugs are proven through both ABIs. Included once, at the end of base.c. */
#ifndef ALLOCHECK_TESTS_BUGS_EXPORT_H
#define ALLOCHECK_TESTS_BUGS_EXPORT_H

#if AS_DESCRIPTOR

static void *d_malloc(void *ctx, size_t n) { (void)ctx; return ENTRY(FN_MALLOC, x_malloc(n)); }
static void *d_calloc(void *ctx, size_t m, size_t n) { (void)ctx; return ENTRY(FN_CALLOC, x_calloc(m, n)); }
static void *d_realloc(void *ctx, void *p, size_t n) { (void)ctx; return ENTRY(FN_REALLOC, x_realloc(p, n)); }
static void *d_reallocarray(void *ctx, void *p, size_t m, size_t n)
{
    (void)ctx;
    return ENTRY(FN_REALLOCARRAY, x_reallocarray(p, m, n));
}
static void d_free(void *ctx, void *p) { (void)ctx; x_free(p); }
static void *d_aligned_alloc(void *ctx, size_t a, size_t n)
{
    (void)ctx;
    return ENTRY(FN_ALIGNED_ALLOC, x_aligned_alloc(a, n));
}
static int d_posix_memalign(void *ctx, void **pp, size_t a, size_t n)
{
    (void)ctx;
    return x_posix_memalign_entry(pp, a, n);
}
static void *d_memalign(void *ctx, size_t a, size_t n) { (void)ctx; return ENTRY(FN_MEMALIGN, x_memalign(a, n)); }
static void *d_valloc(void *ctx, size_t n) { (void)ctx; return ENTRY(FN_VALLOC, x_valloc(n)); }
static void *d_pvalloc(void *ctx, size_t n) { (void)ctx; return ENTRY(FN_PVALLOC, x_pvalloc(n)); }
static size_t d_usable_size(void *ctx, void *p) { (void)ctx; return x_usable_size(p); }
static void d_free_sized(void *ctx, void *p, size_t n) { (void)ctx; x_free_sized(p, n); }
static void d_free_aligned_sized(void *ctx, void *p, size_t a, size_t n)
{
    (void)ctx;
    x_free_aligned_sized(p, a, n);
}

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = BUG_NAME " (descriptor)",
    .malloc = d_malloc,
    .calloc = d_calloc,
    .realloc = d_realloc,
    .reallocarray = d_reallocarray,
    .free = d_free,
    .aligned_alloc = d_aligned_alloc,
    .posix_memalign = d_posix_memalign,
    .memalign = d_memalign,
    .valloc = d_valloc,
    .pvalloc = d_pvalloc,
    .malloc_usable_size = d_usable_size,
    .free_sized = d_free_sized,
    .free_aligned_sized = d_free_aligned_sized,
};

#else

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n);
EXPORT void *calloc(size_t m, size_t n);
EXPORT void *realloc(void *p, size_t n);
EXPORT void *reallocarray(void *p, size_t m, size_t n);
EXPORT void free(void *p);
EXPORT void *aligned_alloc(size_t a, size_t n);
EXPORT int posix_memalign(void **pp, size_t a, size_t n);
EXPORT void *memalign(size_t a, size_t n);
EXPORT void *valloc(size_t n);
EXPORT void *pvalloc(size_t n);
EXPORT size_t malloc_usable_size(void *p);
EXPORT void free_sized(void *p, size_t n);
EXPORT void free_aligned_sized(void *p, size_t a, size_t n);

void *malloc(size_t n) { return ENTRY(FN_MALLOC, x_malloc(n)); }
void *calloc(size_t m, size_t n) { return ENTRY(FN_CALLOC, x_calloc(m, n)); }
void *realloc(void *p, size_t n) { return ENTRY(FN_REALLOC, x_realloc(p, n)); }
void *reallocarray(void *p, size_t m, size_t n) { return ENTRY(FN_REALLOCARRAY, x_reallocarray(p, m, n)); }
void free(void *p) { x_free(p); }
void *aligned_alloc(size_t a, size_t n) { return ENTRY(FN_ALIGNED_ALLOC, x_aligned_alloc(a, n)); }
int posix_memalign(void **pp, size_t a, size_t n) { return x_posix_memalign_entry(pp, a, n); }
void *memalign(size_t a, size_t n) { return ENTRY(FN_MEMALIGN, x_memalign(a, n)); }
void *valloc(size_t n) { return ENTRY(FN_VALLOC, x_valloc(n)); }
void *pvalloc(size_t n) { return ENTRY(FN_PVALLOC, x_pvalloc(n)); }
size_t malloc_usable_size(void *p) { return x_usable_size(p); }
void free_sized(void *p, size_t n) { x_free_sized(p, n); }
void free_aligned_sized(void *p, size_t a, size_t n) { x_free_aligned_sized(p, a, n); }

#endif
#endif
