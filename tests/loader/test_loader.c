/* Unit tests of allocator loading: every SPEC form, self-binding of a naive realloc, the
 * descriptor ABI's context and properties, every bad input's one-line reason, and the real
 * allocators installed on this machine. TAP on stdout. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocheck_config.h"
#include "src/load/alloc.h"
#include "tests/tap.h"

static const char *plugin_dir;

static const char *plugin(const char *file, const char *suffix)
{
    static char buf[8][4096];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s%s", plugin_dir, file, suffix ? suffix : "");
    return b;
}

/* Runs malloc/calloc/realloc/usable/free through a; returns 0 if all behaved. */
static int roundtrip(const alloc_t *a)
{
    char *p = a->malloc(a->ctx, 100);
    if (!p)
        return -1;
    memset(p, 7, 100);
    char *q = a->realloc ? a->realloc(a->ctx, p, 5000) : p;
    if (!q || q[99] != 7)
        return -2;
    if (a->usable_size && a->usable_size(a->ctx, q) < (a->realloc ? 5000u : 100u))
        return -3;
    a->free(a->ctx, q);
    char *z = a->calloc ? a->calloc(a->ctx, 10, 10) : NULL;
    if (a->calloc && (!z || z[50] != 0))
        return -4;
    if (z)
        a->free(a->ctx, z);
    return 0;
}

static void expect_load(const char *spec, alloc_kind_t kind, uint32_t must_have)
{
    alloc_t a;
    char err[512] = "";
    int rc = alloc_load(&a, spec, err, sizeof err);
    CHECK(rc == 0, "loads %s%s%s", spec, rc ? ": " : "", err);
    if (rc)
        return;
    CHECK_EQ(a.kind, kind, "%s has kind %d", spec, kind);
    CHECK((alloc_present(&a) & must_have) == must_have, "%s provides functions 0x%x (got 0x%x)", spec,
       must_have, alloc_present(&a));
    CHECK(roundtrip(&a) == 0, "%s allocates, reallocs and frees", spec);
}

/* The child must survive a realloc through the naive plugin and the checks after it. */
static void naive_realloc_is_self_bound(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        alloc_t a;
        char err[512];
        if (alloc_load(&a, plugin("libtp_naive.so", NULL), err, sizeof err))
            _exit(2);
        void *p = a.malloc(a.ctx, 10);
        void *q = a.realloc(a.ctx, p, 1000);
        /* usable_size and free abort unless q came from the plugin's own malloc. */
        size_t n = a.usable_size(a.ctx, q);
        a.free(a.ctx, q);
        _exit(n == 1000 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a plugin whose realloc calls malloc by name is tested as itself (status 0x%x)", status);
}

static void descriptor_context_and_properties(void)
{
    alloc_t a;
    char err[512] = "";
    int rc = alloc_load(&a, plugin("libtp_descriptor.so", NULL), err, sizeof err);
    CHECK(rc == 0 && strcmp(a.name, "test descriptor plugin") == 0, "descriptor name '%s'", a.name);
    CHECK(a.flags == ALLOCHECK_PLUGIN_NOT_FORK_SAFE && a.min_alignment == 16,
       "descriptor properties read (flags 0x%x, min_alignment %zu)", a.flags, a.min_alignment);
    CHECK(!alloc_has(&a, AF_POSIX_MEMALIGN) && alloc_has(&a, AF_MALLOC_USABLE_SIZE),
       "descriptor's absent functions are NULL, present ones set");
}

static void expect_error(const char *spec, const char *needle)
{
    char err[1024] = "";
    int rc = alloc_probe(spec, err, sizeof err);
    if (!rc) {
        alloc_t a;
        rc = alloc_load(&a, spec, err, sizeof err);
    }
    CHECK(rc < 0 && strstr(err, needle) && !strchr(err, '\n'),
       "'%s' is refused with one line containing '%s' (got %d: %s)", spec, needle, rc, err);
}

static void bad_inputs(void)
{
    expect_error("/nonexistent/liballoc.so", "No such file");
    expect_error(plugin("not_a_library.txt", NULL), "not a shared library");
    expect_error(plugin_dir, "is a directory");
    expect_error(ALLOCHECK_LIBZ_SO, "not an allocator");
    expect_error(plugin("libtp_names.so", ":prefix=zz_"), "wrong prefix");
    expect_error(plugin("libtp_names.so", ":prefix="), "prefix must be");
    expect_error(plugin("libtp_names.so", ":colour=red"), "unknown option 'colour=red'");
    expect_error("", "empty allocator spec");
    expect_error("preload:", "empty allocator spec");
    expect_error("nosuchallocator", "unknown allocator");
    expect_error(plugin("libtp_crash_ctor.so", NULL), "crashed while loading (SIGSEGV)");
    expect_error(plugin("libtp_abort_ctor.so", NULL), "SIGABRT): bad_ctor: refusing to start");
}

static void real_allocators(void)
{
    static const struct { const char *spec; uint32_t fns; } real[] = {
        { ALLOCHECK_JEMALLOC_SO, AF_BIT(AF_POSIX_MEMALIGN) },
        { ALLOCHECK_MIMALLOC_SO, AF_BIT(AF_REALLOCARRAY) },
        { ALLOCHECK_MIMALLOC_SO ":prefix=mi_", AF_BIT(AF_FREE_SIZED) },
        { ALLOCHECK_TCMALLOC_SO, AF_BIT(AF_MALLOC_SIZE) },
        { ALLOCHECK_SCUDO_SO, AF_BIT(AF_ALIGNED_ALLOC) },
    };
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", real[i].spec);
        char *colon = strchr(path, ':');
        if (colon)
            *colon = '\0';
        if (access(path, R_OK) != 0) {
            CHECK(true, "# SKIP %s not installed", path);
            continue;
        }
        expect_load(real[i].spec, colon ? ALLOC_PREFIX : ALLOC_NAMES,
                    AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE) | real[i].fns);
    }
}

int main(int argc, char **argv)
{
    alloc_reexec_for_tls(argv);
    if (argc != 2) {
        fprintf(stderr, "usage: test_loader PLUGIN_DIR\n");
        return 2;
    }
    plugin_dir = argv[1];
    expect_load("reference", ALLOC_REFERENCE, (1u << AF_MALLOC_SIZE) - 1);
    expect_load("system", ALLOC_SYSTEM, AF_BIT(AF_MALLOC) | AF_BIT(AF_REALLOCARRAY));
    expect_load(plugin("libtp_names.so", NULL), ALLOC_NAMES,
                AF_BIT(AF_MALLOC) | AF_BIT(AF_ALIGNED_ALLOC) | AF_BIT(AF_MALLOC_USABLE_SIZE));
    expect_load(plugin("libtp_prefixed.so", ":prefix=tp_"), ALLOC_PREFIX,
                AF_BIT(AF_MALLOC) | AF_BIT(AF_CALLOC) | AF_BIT(AF_REALLOC));
    expect_load(plugin("libtp_descriptor.so", NULL), ALLOC_DESCRIPTOR,
                AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE) | AF_BIT(AF_CALLOC));
    expect_load(plugin("libtp_naive.so", NULL), ALLOC_NAMES, AF_BIT(AF_REALLOC));
    naive_realloc_is_self_bound();
    descriptor_context_and_properties();
    bad_inputs();
    real_allocators();
    return tap_done();
}
