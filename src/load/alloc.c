/* Allocator loading (docs/ARCHITECTURE.md, Loading): turns a SPEC into an alloc_t. Standard-name and prefixed
 * plugins are called through small adapters that drop the context pointer; descriptor plugins
 * are called directly. Only functions defined by the plugin itself count: dlsym on a handle
 * also finds libc's malloc through the plugin's dependencies, and testing that would be a lie.
 * Leaves out: running preload: specs, which only exec'd workers do (src/load/worker.c); here they are
 * only checked and recorded, never dlopen'ed. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allocheck_config.h"
#include "src/load/alloc.h"
#include "src/base/children.h"
#include "src/load/elfbind.h"
#define REFALLOC_PREFIXED 1
#include "src/refalloc/refalloc.h"

const char *const alloc_fn_names[AF_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "aligned_alloc",
    "posix_memalign", "memalign", "valloc", "pvalloc", "malloc_usable_size",
    "free_sized", "free_aligned_sized", "malloc_size",
};

/* Other spellings of a function, tried after PREFIX+name: mimalloc's mi_free_size and
 * mi_usable_size, and TBB's scalable_msize, have the standard signatures under other names. */
static const char *const alloc_aliases[AF_COUNT][2] = {
    [AF_FREE_SIZED] = { "free_size", NULL },
    [AF_MALLOC_SIZE] = { "usable_size", "msize" },
};

/* Well-known allocators by name, for convenience: where the build found them (meson.build). */
static const struct { const char *name, *path; } known_allocators[] = {
    { "jemalloc", ALLOCHECK_JEMALLOC_SO },
    { "mimalloc", ALLOCHECK_MIMALLOC_SO },
    { "tcmalloc", ALLOCHECK_TCMALLOC_SO },
    { "scudo", ALLOCHECK_SCUDO_SO },
};

#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls"
#define STATIC_TLS_BYTES "32768"

static int fail(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return code;
}

/* Copies with truncation, which is what a display name wants. */
static void copy_str(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Adapters for plugins with the standard signatures: ctx is the table of raw pointers. */
#define RAW(ctx, f, type) ((type)((void *const *)(ctx))[f])
static void *std_malloc(void *c, size_t n) { return RAW(c, AF_MALLOC, void *(*)(size_t))(n); }
static void *std_calloc(void *c, size_t m, size_t n)
{ return RAW(c, AF_CALLOC, void *(*)(size_t, size_t))(m, n); }
static void *std_realloc(void *c, void *p, size_t n)
{ return RAW(c, AF_REALLOC, void *(*)(void *, size_t))(p, n); }
static void *std_reallocarray(void *c, void *p, size_t m, size_t n)
{ return RAW(c, AF_REALLOCARRAY, void *(*)(void *, size_t, size_t))(p, m, n); }
static void std_free(void *c, void *p) { RAW(c, AF_FREE, void (*)(void *))(p); }
static void *std_aligned_alloc(void *c, size_t al, size_t n)
{ return RAW(c, AF_ALIGNED_ALLOC, void *(*)(size_t, size_t))(al, n); }
static int std_posix_memalign(void *c, void **mp, size_t al, size_t n)
{ return RAW(c, AF_POSIX_MEMALIGN, int (*)(void **, size_t, size_t))(mp, al, n); }
static void *std_memalign(void *c, size_t al, size_t n)
{ return RAW(c, AF_MEMALIGN, void *(*)(size_t, size_t))(al, n); }
static void *std_valloc(void *c, size_t n) { return RAW(c, AF_VALLOC, void *(*)(size_t))(n); }
static void *std_pvalloc(void *c, size_t n) { return RAW(c, AF_PVALLOC, void *(*)(size_t))(n); }
static size_t std_usable(void *c, void *p)
{ return RAW(c, AF_MALLOC_USABLE_SIZE, size_t (*)(void *))(p); }
static void std_free_sized(void *c, void *p, size_t n)
{ RAW(c, AF_FREE_SIZED, void (*)(void *, size_t))(p, n); }
static void std_free_aligned_sized(void *c, void *p, size_t al, size_t n)
{ RAW(c, AF_FREE_ALIGNED_SIZED, void (*)(void *, size_t, size_t))(p, al, n); }
static size_t std_malloc_size(void *c, void *p)
{ return RAW(c, AF_MALLOC_SIZE, size_t (*)(void *))(p); }

/* Raw tables live here, not in the alloc_t, so an alloc_t can be copied after loading. */
#define MAX_TABLES 64
static void *raw_tables[MAX_TABLES][AF_COUNT];
static int raw_used;

static int install_std(alloc_t *a, void *const raw[AF_COUNT])
{
    if (raw_used == MAX_TABLES)
        return -ENOSPC;
    void **t = raw_tables[raw_used++];
    memcpy(t, raw, sizeof(void *) * AF_COUNT);
    memcpy(a->raw, raw, sizeof a->raw);
    a->ctx = t;
    a->malloc = t[AF_MALLOC] ? std_malloc : NULL;
    a->calloc = t[AF_CALLOC] ? std_calloc : NULL;
    a->realloc = t[AF_REALLOC] ? std_realloc : NULL;
    a->reallocarray = t[AF_REALLOCARRAY] ? std_reallocarray : NULL;
    a->free = t[AF_FREE] ? std_free : NULL;
    a->aligned_alloc = t[AF_ALIGNED_ALLOC] ? std_aligned_alloc : NULL;
    a->posix_memalign = t[AF_POSIX_MEMALIGN] ? std_posix_memalign : NULL;
    a->memalign = t[AF_MEMALIGN] ? std_memalign : NULL;
    a->valloc = t[AF_VALLOC] ? std_valloc : NULL;
    a->pvalloc = t[AF_PVALLOC] ? std_pvalloc : NULL;
    a->malloc_usable_size = t[AF_MALLOC_USABLE_SIZE] ? std_usable : NULL;
    a->free_sized = t[AF_FREE_SIZED] ? std_free_sized : NULL;
    a->free_aligned_sized = t[AF_FREE_ALIGNED_SIZED] ? std_free_aligned_sized : NULL;
    a->malloc_size = t[AF_MALLOC_SIZE] ? std_malloc_size : NULL;
    a->usable_size = a->malloc_usable_size ? a->malloc_usable_size : a->malloc_size;
    return 0;
}

uint32_t alloc_present(const alloc_t *a)
{
    if (alloc_is_remote(a))
        return a->remote_fns;
    const void *fns[AF_COUNT] = {
        (void *)a->malloc, (void *)a->calloc, (void *)a->realloc, (void *)a->reallocarray,
        (void *)a->free, (void *)a->aligned_alloc, (void *)a->posix_memalign,
        (void *)a->memalign, (void *)a->valloc, (void *)a->pvalloc,
        (void *)a->malloc_usable_size, (void *)a->free_sized, (void *)a->free_aligned_sized,
        (void *)a->malloc_size,
    };
    uint32_t m = 0;
    for (int f = 0; f < AF_COUNT; f++)
        if (fns[f])
            m |= AF_BIT(f);
    return m;
}

static int load_reference(alloc_t *a)
{
    void *raw[AF_COUNT] = {
        [AF_MALLOC] = (void *)refalloc_malloc,
        [AF_CALLOC] = (void *)refalloc_calloc,
        [AF_REALLOC] = (void *)refalloc_realloc,
        [AF_REALLOCARRAY] = (void *)refalloc_reallocarray,
        [AF_FREE] = (void *)refalloc_free,
        [AF_ALIGNED_ALLOC] = (void *)refalloc_aligned_alloc,
        [AF_POSIX_MEMALIGN] = (void *)refalloc_posix_memalign,
        [AF_MEMALIGN] = (void *)refalloc_memalign,
        [AF_VALLOC] = (void *)refalloc_valloc,
        [AF_PVALLOC] = (void *)refalloc_pvalloc,
        [AF_MALLOC_USABLE_SIZE] = (void *)refalloc_malloc_usable_size,
        [AF_FREE_SIZED] = (void *)refalloc_free_sized,
        [AF_FREE_ALIGNED_SIZED] = (void *)refalloc_free_aligned_sized,
    };
    a->kind = ALLOC_REFERENCE;
    snprintf(a->name, sizeof a->name, "reference");
    snprintf(a->path, sizeof a->path, "(built in)");
    for (int f = 0; f < AF_COUNT; f++)
        a->symbol[f] = raw[f] ? alloc_fn_names[f] : NULL;
    return install_std(a, raw);
}

/* The object that defines addr, or NULL. */
static struct link_map *owner_of(const void *addr)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!addr || !dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP))
        return NULL;
    return lm;
}

int alloc_load_raw(alloc_t *a, void *const raw[AF_COUNT])
{
    for (int f = 0; f < AF_COUNT; f++)
        a->symbol[f] = raw[f] ? alloc_fn_names[f] : NULL;
    return install_std(a, raw);
}

static int load_system(alloc_t *a)
{
    void *raw[AF_COUNT] = { 0 };
    for (int f = 0; f < AF_COUNT; f++) {
        raw[f] = dlsym(RTLD_DEFAULT, alloc_fn_names[f]);
        a->symbol[f] = raw[f] ? alloc_fn_names[f] : NULL;
    }
    a->kind = ALLOC_SYSTEM;
    snprintf(a->name, sizeof a->name, "system (glibc %s)", gnu_get_libc_version());
    struct link_map *lm = owner_of(raw[AF_MALLOC]);
    snprintf(a->path, sizeof a->path, "%s", lm && lm->l_name[0] ? lm->l_name : "libc");
    return install_std(a, raw);
}

/* What a SPEC's options declare, applied over what a descriptor declared. */
typedef struct decl {
    uint32_t flags;
    size_t min_alignment, max_alignment, heap_size;
} decl_t;

typedef struct spec {
    char path[4096];
    char prefix[64];
    int preload;
    decl_t decl;
} spec_t;

static const struct { const char *name; uint32_t flag; } decl_flags[] = {
    { "no-errno", ALLOCHECK_PLUGIN_NO_ERRNO },
    { "delayed-reuse", ALLOCHECK_PLUGIN_DELAYED_REUSE },
    { "not-thread-safe", ALLOCHECK_PLUGIN_NOT_THREAD_SAFE },
    { "not-fork-safe", ALLOCHECK_PLUGIN_NOT_FORK_SAFE },
};

/* "4096", "256K", "1M", "2G" into *out. */
static int parse_bytes(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    end += shift != 0;
    if (errno || end == s || *end || *s == '-' || v == 0 || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

static int parse_prefix(spec_t *s, const char *p, char *err, size_t len)
{
    if (!*p || strlen(p) >= sizeof s->prefix)
        return fail(err, len, -EINVAL, "prefix must be 1 to %zu characters", sizeof s->prefix - 1);
    for (const char *q = p; *q; q++)
        if (!(*q == '_' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
              (*q >= 'A' && *q <= 'Z')))
            return fail(err, len, -EINVAL, "prefix '%s' is not a C identifier prefix", p);
    snprintf(s->prefix, sizeof s->prefix, "%s", p);
    return 0;
}

/* One "name=value" declaration with a byte count. */
static int parse_amount(spec_t *s, const char *opt, char *err, size_t len)
{
    static const char *const names[] = { "min-align=", "max-align=", "heap=" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(names[i]), v;
        if (strncmp(opt, names[i], n) != 0)
            continue;
        if (parse_bytes(opt + n, &v) || (i < 2 && (v & (v - 1))))
            return fail(err, len, -EINVAL, "'%s': expected %s", opt,
                        i < 2 ? "a power of two (4096, 256K)" : "a size (262144, 256K, 64M)");
        size_t *field[] = { &s->decl.min_alignment, &s->decl.max_alignment, &s->decl.heap_size };
        *field[i] = v;
        if (i == 2)
            s->decl.flags |= ALLOCHECK_PLUGIN_FIXED_HEAP;
        return 0;
    }
    return 1;
}

static int parse_option(spec_t *s, const char *opt, char *err, size_t len)
{
    if (strncmp(opt, "prefix=", 7) == 0)
        return parse_prefix(s, opt + 7, err, len);
    for (size_t i = 0; i < sizeof decl_flags / sizeof decl_flags[0]; i++)
        if (strcmp(opt, decl_flags[i].name) == 0) {
            s->decl.flags |= decl_flags[i].flag;
            return 0;
        }
    int rc = parse_amount(s, opt, err, len);
    if (rc <= 0)
        return rc;
    return fail(err, len, -EINVAL, "unknown option '%s' (expected prefix=P, heap=N, min-align=N, "
                "max-align=N, no-errno, delayed-reuse, not-thread-safe or not-fork-safe)", opt);
}

/* Whether the text after a SPEC's last ':' is options, not part of the path: it has an '='
 * (as prefix= always had) or its first option is a known word. */
static bool looks_like_options(const char *tail)
{
    size_t n = strcspn(tail, ",");
    if (memchr(tail, '=', n))
        return true;
    for (size_t i = 0; i < sizeof decl_flags / sizeof decl_flags[0]; i++)
        if (strlen(decl_flags[i].name) == n && strncmp(tail, decl_flags[i].name, n) == 0)
            return true;
    return false;
}

static int parse_options(spec_t *s, char *opts, char *err, size_t len)
{
    for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        int rc = parse_option(s, o, err, len);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_spec(spec_t *s, const char *spec, char *err, size_t len)
{
    memset(s, 0, sizeof *s);
    if (strncmp(spec, "preload:", 8) == 0) {
        s->preload = 1;
        spec += 8;
    }
    if (!*spec)
        return fail(err, len, -EINVAL, "empty allocator spec");
    if (strlen(spec) >= sizeof s->path)
        return fail(err, len, -ENAMETOOLONG, "spec too long (at most %zu bytes)",
                    sizeof s->path - 1);
    snprintf(s->path, sizeof s->path, "%s", spec);
    char *colon = strrchr(s->path, ':');
    if (colon && looks_like_options(colon + 1)) {
        *colon = '\0';
        int rc = parse_options(s, colon + 1, err, len);
        if (rc)
            return rc;
        if (!s->path[0])
            return fail(err, len, -EINVAL, "no library path before the options");
    }
    for (size_t i = 0; i < sizeof known_allocators / sizeof known_allocators[0]; i++)
        if (strcmp(s->path, known_allocators[i].name) == 0)
            snprintf(s->path, sizeof s->path, "%s", known_allocators[i].path);
    return 0;
}

/* A clear reason for a path dlopen would reject, before dlopen's own wording. */
static int check_file(const char *path, char *err, size_t len)
{
    struct stat st;
    if (!strchr(path, '/') && !strstr(path, ".so"))
        return fail(err, len, -EINVAL,
                    "unknown allocator (expected reference, system, jemalloc, mimalloc, tcmalloc, "
                    "scudo, PATH.so, PATH.so:prefix=P or preload:PATH.so)");
    if (stat(path, &st) != 0)
        return fail(err, len, -errno, "%s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(err, len, -EISDIR, "is a directory, not a shared library");
    unsigned char magic[4] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, len, -errno, "%s", strerror(errno));
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got != 4 || memcmp(magic, "\177ELF", 4) != 0)
        return fail(err, len, -ENOEXEC, "not a shared library (no ELF header)");
    return 0;
}

/* The objects loaded at startup (the tool, libc, the dynamic linker, anything preloaded)
 * are the first ones of the link-map chain; a plugin's functions must come from later ones. */
static struct link_map *chain_head(void)
{
    struct link_map *lm = NULL;
    void *self = dlopen(NULL, RTLD_NOW);
    return self && dlinfo(self, RTLD_DI_LINKMAP, &lm) == 0 ? lm : NULL;
}

static size_t startup_objects(void)
{
    static size_t n;
    if (!n)
        for (struct link_map *lm = chain_head(); lm; lm = lm->l_next)
            n++;
    return n;
}

static int loaded_after_startup(const struct link_map *lm)
{
    size_t i = 0, before = startup_objects();
    for (struct link_map *it = chain_head(); lm && it; it = it->l_next, i++)
        if (it == lm)
            return i >= before;
    return 0;
}

static void *plugin_sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    return p && loaded_after_startup(owner_of(p)) ? p : NULL;
}

static void *find_fn(void *h, const spec_t *s, int f, char *name, size_t len)
{
    const char *spellings[3] = { alloc_fn_names[f], alloc_aliases[f][0], alloc_aliases[f][1] };
    for (int i = 0; i < 3 && spellings[i]; i++) {
        snprintf(name, len, "%s%s", s->prefix, spellings[i]);
        void *p = plugin_sym(h, name);
        if (p)
            return p;
    }
    return NULL;
}

/* Symbol names live as long as the process: the report prints them. */
static char symbol_names[MAX_TABLES][AF_COUNT][96];

static int load_named(alloc_t *a, void *h, const spec_t *s, char *err, size_t len)
{
    if (raw_used == MAX_TABLES)
        return fail(err, len, -ENOSPC, "too many allocators loaded");
    void *raw[AF_COUNT] = { 0 };
    char (*names)[96] = symbol_names[raw_used];
    for (int f = 0; f < AF_COUNT; f++) {
        raw[f] = find_fn(h, s, f, names[f], sizeof names[f]);
        a->symbol[f] = raw[f] ? names[f] : NULL;
    }
    if (!raw[AF_MALLOC] || !raw[AF_FREE]) {
        if (s->prefix[0])
            return fail(err, len, -ENOENT, "no symbol '%smalloc' or '%sfree' (wrong prefix?)",
                        s->prefix, s->prefix);
        return fail(err, len, -ENOENT,
                    "defines no malloc/free and no " ALLOCHECK_PLUGIN_SYMBOL
                    " descriptor: not an allocator (or give :prefix=P)");
    }
    a->kind = s->prefix[0] ? ALLOC_PREFIX : ALLOC_NAMES;
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0) {
        /* Bind the plugin's own calls to its own functions (see elfbind.h). */
        const char *syms[AF_COUNT];
        for (int f = 0; f < AF_COUNT; f++)
            syms[f] = a->symbol[f];
        elfbind_rebind(lm, syms, raw, AF_COUNT);
    }
    return install_std(a, raw);
}

static int load_descriptor(alloc_t *a, const struct allocheck_plugin *d, char *err, size_t len)
{
    if (d->abi_version != ALLOCHECK_PLUGIN_ABI_VERSION)
        return fail(err, len, -EPROTO, "plugin ABI version %u, expected %u", d->abi_version,
                    ALLOCHECK_PLUGIN_ABI_VERSION);
    if (d->struct_size < offsetof(struct allocheck_plugin, min_alignment))
        return fail(err, len, -EPROTO, "plugin descriptor too small (%u bytes)", d->struct_size);
    if (!d->malloc || !d->free)
        return fail(err, len, -ENOENT, "plugin descriptor has no malloc or free");
    a->kind = ALLOC_DESCRIPTOR;
    a->ctx = d->ctx;
    if (d->init) {
        int rc = d->init(&a->ctx);
        if (rc)
            return fail(err, len, rc < 0 ? rc : -rc, "plugin init failed: %s", strerror(rc < 0 ? -rc : rc));
    }
    a->malloc = d->malloc; a->calloc = d->calloc; a->realloc = d->realloc;
    a->reallocarray = d->reallocarray; a->free = d->free; a->aligned_alloc = d->aligned_alloc;
    a->posix_memalign = d->posix_memalign; a->memalign = d->memalign; a->valloc = d->valloc;
    a->pvalloc = d->pvalloc; a->malloc_usable_size = d->malloc_usable_size;
    a->free_sized = d->free_sized; a->free_aligned_sized = d->free_aligned_sized;
    a->usable_size = a->malloc_usable_size;
    uint32_t present = alloc_present(a);
    for (int f = 0; f < AF_COUNT; f++)
        a->symbol[f] = present & AF_BIT(f) ? alloc_fn_names[f] : NULL;
    if (d->struct_size >= offsetof(struct allocheck_plugin, reserved0)) {
        a->min_alignment = d->min_alignment;
        a->heap_size = d->heap_size;
        a->flags = d->flags;
    }
    if (d->struct_size >= offsetof(struct allocheck_plugin, reserved))
        a->max_alignment = (size_t)d->max_alignment;
    if (d->name)
        snprintf(a->name, sizeof a->name, "%s", d->name);
    return 0;
}

/* dlopen runs the plugin's constructors in this process: what they print must not reach
 * our stdout (a JSON report), and a process they fork must not outlive the call. The probe
 * already ran them in a child, so one that blocks or crashes never gets here. */
static void *dlopen_quietly(const char *path)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDOUT_FILENO);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    __fpurge(stdout);   /* what a constructor printf()ed without flushing */
    if (saved >= 0 && null >= 0)
        dup2(saved, STDOUT_FILENO);
    if (saved >= 0)
        close(saved);
    if (null >= 0)
        close(null);
    children_sweep();
    return h;
}

static int load_library(alloc_t *a, const spec_t *s, char *err, size_t len)
{
    int rc = check_file(s->path, err, len);
    if (rc)
        return rc;
    startup_objects();
    void *h = dlopen_quietly(s->path);
    if (!h) {
        const char *why = dlerror();
        return fail(err, len, -ENOEXEC, "cannot load: %s", why ? why : "unknown dlopen error");
    }
    struct link_map *lm = NULL;
    const char *real = dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm->l_name[0] ? lm->l_name : s->path;
    snprintf(a->path, sizeof a->path, "%s", real);
    const char *base = strrchr(a->path, '/');
    copy_str(a->name, sizeof a->name, base ? base + 1 : a->path);
    snprintf(a->prefix, sizeof a->prefix, "%s", s->prefix);
    const struct allocheck_plugin *d = plugin_sym(h, ALLOCHECK_PLUGIN_SYMBOL);
    if (d && !s->prefix[0])
        return load_descriptor(a, d, err, len);
    return load_named(a, h, s, err, len);
}

/* A preload: spec is only recorded: workers name it in LD_PRELOAD, which splits at colons
 * and spaces and resolves a relative path from wherever a worker runs. */
static int record_preload(alloc_t *a, const spec_t *s, char *err, size_t len)
{
    if (s->prefix[0])
        return fail(err, len, -EINVAL, "preload: takes no options (the library's own names "
                    "are what a program calls)");
    int rc = check_file(s->path, err, len);
    if (rc)
        return rc;
    if (!realpath(s->path, a->path))
        return fail(err, len, -errno, "%s", strerror(errno));
    if (strpbrk(a->path, ": \t\n"))
        return fail(err, len, -EINVAL, "LD_PRELOAD cannot name a path with a colon or a space");
    a->kind = ALLOC_PRELOAD;
    const char *base = strrchr(a->path, '/');
    snprintf(a->name, sizeof a->name, "%.100s (preloaded)", base ? base + 1 : a->path);
    return 0;
}

/* A SPEC's declarations win over a descriptor's; flags add up. */
static void apply_declarations(alloc_t *a, const decl_t *d)
{
    a->flags |= d->flags;
    if (d->min_alignment)
        a->min_alignment = d->min_alignment;
    if (d->max_alignment)
        a->max_alignment = d->max_alignment;
    if (d->heap_size)
        a->heap_size = d->heap_size;
}

static int load_spec(alloc_t *a, const spec_t *s, char *err, size_t errlen)
{
    if (!s->preload && strcmp(s->path, "reference") == 0)
        return load_reference(a);
    if (!s->preload && strcmp(s->path, "system") == 0)
        return load_system(a);
    if (!s->preload)
        return load_library(a, s, err, errlen);
    return record_preload(a, s, err, errlen);
}

int alloc_load(alloc_t *a, const char *spec, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    snprintf(a->spec, sizeof a->spec, "%s", spec);
    spec_t s;
    int rc = parse_spec(&s, spec, err, errlen);
    if (rc == 0)
        rc = load_spec(a, &s, err, errlen);
    if (rc == 0)
        apply_declarations(a, &s.decl);
    return rc;
}


static const char *signal_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    static char buf[32];
    snprintf(buf, sizeof buf, "SIG%s", abbrev ? abbrev : "?");
    return buf;
}

/* What the probe reports, in one write (smaller than PIPE_BUF, so it arrives whole): the
 * parent stops waiting when it has it, whatever the constructor left running. */
typedef struct probe_msg {
    int rc;
    char err[512];
} probe_msg_t;

/* The child half of alloc_probe: load, report through fd, never return. */
static void probe_child(pid_t parent, const char *spec, int result_fd, int words_fd,
                        const children_limits_t *lim)
{
    children_enter(parent, words_fd, lim);
    /* A preload: library must at least be an allocator that loads; its constructor runs here. */
    const char *load = strncmp(spec, "preload:", 8) == 0 ? spec + 8 : spec;
    static alloc_t a;
    static probe_msg_t m;
    m.rc = alloc_load(&a, load, m.err, sizeof m.err);
    _exit(write(result_fd, &m, sizeof m) == (ssize_t)sizeof m ? 0 : 3);
}

/* The probe's state while the parent waits for it. */
typedef struct probe {
    pid_t pid;
    int pidfd, res, words;    /* read ends; -1 when closed */
    probe_msg_t msg;
    size_t got;               /* bytes of msg so far */
    char text[4096];          /* the start of what the child printed */
    size_t printed;           /* all it printed, kept or not */
    bool exited;
    int status;
} probe_t;

static void probe_read(probe_t *p)
{
    ssize_t n;
    while (p->got < sizeof p->msg &&
           (n = read(p->res, (char *)&p->msg + p->got, sizeof p->msg - p->got)) > 0)
        p->got += (size_t)n;
    char buf[4096];
    while ((n = read(p->words, buf, sizeof buf)) > 0) {
        size_t room = sizeof p->text - (p->printed < sizeof p->text ? p->printed : sizeof p->text);
        memcpy(p->text + sizeof p->text - room, buf, (size_t)n < room ? (size_t)n : room);
        p->printed += (size_t)n;
    }
}

/* Waits until the result is in, the child is gone, the timeout passes or a stop signal
 * comes: never for EOF, which a process the constructor forked can hold off forever. */
static void probe_wait(probe_t *p, unsigned timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        probe_read(p);
        siginfo_t si = { 0 };
        if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == p->pid) {
            probe_read(p);
            p->exited = true;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long ms = (now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (p->got == sizeof p->msg || p->exited || ms >= timeout_ms || children_stop())
            return;
        struct pollfd pf[3] = { { .fd = p->res, .events = POLLIN },
                                { .fd = p->words, .events = POLLIN },
                                { .fd = p->pidfd, .events = POLLIN } };
        poll(pf, 3, CHILDREN_POLL_MS);
    }
}

/* Kills the probe's whole group (whatever its constructor forked), reaps it, closes up. */
static void probe_end(probe_t *p)
{
    children_kill(p->pid);
    while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
        ;
    children_reaped(p->pid);
    close(p->res);
    close(p->words);
    if (p->pidfd >= 0)
        close(p->pidfd);
}

/* The end of what the child printed, flattened to one line. */
static void last_words(const probe_t *p, char *out, size_t len)
{
    size_t n = p->printed, keep = n < 200 ? n : 200, start = n - keep;
    if (n > sizeof p->text)
        keep = 0;  /* a flood: not worth quoting */
    size_t o = 0;
    for (size_t i = 0; i < keep && o + 1 < len; i++) {
        char c = p->text[start + i];
        out[o++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static int probe_verdict(const probe_t *p, unsigned timeout_ms, char *err, size_t errlen)
{
    char words[256] = "";
    last_words(p, words, sizeof words);
    const char *sep = words[0] ? ": " : "";
    if (p->got == sizeof p->msg) {
        if (p->msg.rc)
            snprintf(err, errlen, "%.*s", (int)sizeof p->msg.err, p->msg.err);
        return p->msg.rc;
    }
    if (!p->exited && children_stop())
        return fail(err, errlen, -EINTR, "interrupted while loading");
    if (!p->exited)
        return fail(err, errlen, -ETIMEDOUT, "plugin did not finish loading in %.3g s (a "
                    "constructor that blocks?); ALLOCHECK_LOAD_TIMEOUT sets the limit%s%s",
                    timeout_ms / 1000.0, sep, words);
    if (WIFSIGNALED(p->status))
        return fail(err, errlen, -ECHILD, "plugin crashed while loading (%s)%s%s",
                    signal_name(WTERMSIG(p->status)), sep, words);
    return fail(err, errlen, -ECHILD, "plugin exited while loading (status %d)%s%s",
                WEXITSTATUS(p->status), sep, words);
}

int alloc_probe(const char *spec, char *err, size_t errlen)
{
    if (strcmp(spec, "reference") == 0 || strcmp(spec, "system") == 0)
        return 0;
    int res[2], words[2];
    if (pipe2(res, O_CLOEXEC | O_NONBLOCK) != 0)
        return fail(err, errlen, -errno, "pipe: %s", strerror(errno));
    if (pipe2(words, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(res[0]);
        close(res[1]);
        return fail(err, errlen, -errno, "pipe: %s", strerror(errno));
    }
    static probe_t p;
    p = (probe_t){ .res = res[0], .words = words[0], .pidfd = -1 };
    unsigned timeout_ms = children_load_timeout_ms();
    const children_limits_t *lim = children_default_limits();
    pid_t parent = getpid();
    fflush(NULL);
    p.pid = fork();
    if (p.pid == 0) {
        fcntl(res[1], F_SETFL, 0);
        probe_child(parent, spec, res[1], words[1], lim);
    }
    int fork_err = errno;
    close(res[1]);
    close(words[1]);
    if (p.pid < 0) {
        close(res[0]);
        close(words[0]);
        return fail(err, errlen, -fork_err, "fork: %s", strerror(fork_err));
    }
    children_add(p.pid);
    p.pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
    probe_wait(&p, timeout_ms);
    probe_end(&p);
    return probe_verdict(&p, timeout_ms, err, errlen);
}

void alloc_reexec_for_tls(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    if (getenv("ALLOCHECK_NO_REEXEC") || (cur && strstr(cur, STATIC_TLS_TUNABLE "=")))
        return;
    /* jemalloc and scudo use initial-exec TLS; dlopen needs surplus static TLS for them. */
    char value[4096];
    int n = snprintf(value, sizeof value, "%s%s" STATIC_TLS_TUNABLE "=" STATIC_TLS_BYTES,
                     cur ? cur : "", cur && *cur ? ":" : "");
    if (n < 0 || (size_t)n >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* Not fatal: only plugins with initial-exec TLS will fail to load, and say so. */
}

void alloc_declarations(const alloc_t *a, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
#define DECL_PUT(...) \
    off += (size_t)snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__)
    if (a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP)
        DECL_PUT("%sheap=%zu", off ? "," : "", a->heap_size);
    if (a->min_alignment)
        DECL_PUT("%smin-align=%zu", off ? "," : "", a->min_alignment);
    if (a->max_alignment)
        DECL_PUT("%smax-align=%zu", off ? "," : "", a->max_alignment);
    for (size_t i = 0; i < sizeof decl_flags / sizeof decl_flags[0]; i++)
        if (a->flags & decl_flags[i].flag)
            DECL_PUT("%s%s", off ? "," : "", decl_flags[i].name);
#undef DECL_PUT
}
