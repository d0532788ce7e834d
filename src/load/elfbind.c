/* GOT rewriting for self-binding (see elfbind.h). Reads the plugin's dynamic section from its
 * link_map, walks DT_RELA and DT_JMPREL, and patches matching slots, lifting RELRO protection
 * around the write. x86_64 and other RELA platforms; elsewhere it rewrites nothing. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/load/elfbind.h"

typedef struct dyninfo {
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela;
    size_t relasz;
    const ElfW(Rela) *jmprel;
    size_t pltrelsz;
} dyninfo_t;

/* glibc relocates d_ptr entries in place on most platforms, not on all: accept both. */
static const void *dyn_ptr(const struct link_map *lm, ElfW(Addr) v)
{
    return (const void *)(v < lm->l_addr ? v + lm->l_addr : v);
}

static int read_dynamic(const struct link_map *lm, dyninfo_t *d)
{
    memset(d, 0, sizeof *d);
    for (const ElfW(Dyn) *dyn = lm->l_ld; dyn && dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: d->symtab = dyn_ptr(lm, dyn->d_un.d_ptr); break;
        case DT_STRTAB: d->strtab = dyn_ptr(lm, dyn->d_un.d_ptr); break;
        case DT_RELA: d->rela = dyn_ptr(lm, dyn->d_un.d_ptr); break;
        case DT_RELASZ: d->relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: d->jmprel = dyn_ptr(lm, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: d->pltrelsz = dyn->d_un.d_val; break;
        default: break;
        }
    }
    return d->symtab && d->strtab ? 0 : -ENOEXEC;
}

static int is_pointer_reloc(unsigned type)
{
#if defined(__x86_64__)
    return type == R_X86_64_GLOB_DAT || type == R_X86_64_JUMP_SLOT || type == R_X86_64_64;
#elif defined(__aarch64__)
    return type == R_AARCH64_GLOB_DAT || type == R_AARCH64_JUMP_SLOT || type == R_AARCH64_ABS64;
#else
    (void)type;
    return 0;
#endif
}

typedef struct relro {
    const struct link_map *lm;
    uintptr_t start, end;
} relro_t;

static int find_relro(struct dl_phdr_info *info, size_t size, void *data)
{
    relro_t *r = data;
    (void)size;
    if (info->dlpi_addr != r->lm->l_addr || strcmp(info->dlpi_name, r->lm->l_name) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            r->start = info->dlpi_addr + ph->p_vaddr;
            r->end = r->start + ph->p_memsz;
        }
    }
    return 1;
}

static int write_slot(const relro_t *relro, void **slot, void *value)
{
    if (*slot == value)
        return 0;
    uintptr_t a = (uintptr_t)slot;
    if (a < relro->start || a >= relro->end) {
        *slot = value;  /* outside RELRO: still writable */
        return 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = a & ~(uintptr_t)(page - 1);
    /* RELRO is read-only after relocation: open it just for this write and close it again,
     * keeping the protection RELRO promised. */
    if (mprotect((void *)start, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return -errno;
    *slot = value;
    mprotect((void *)start, (size_t)page, PROT_READ);
    return 1;
}

static int find_name(const char *sym, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], sym) == 0)
            return (int)i;
    return -1;
}

static int rebind_table(const struct link_map *lm, const relro_t *relro, const dyninfo_t *d,
                        const ElfW(Rela) *r, size_t bytes, const char *const *names,
                        void *const *targets, size_t n)
{
    int patched = 0;
    for (size_t k = 0; r && k < bytes / sizeof *r; k++) {
        if (!is_pointer_reloc(ELF64_R_TYPE(r[k].r_info)) || ELF64_R_SYM(r[k].r_info) == 0)
            continue;
        const char *sym = d->strtab + d->symtab[ELF64_R_SYM(r[k].r_info)].st_name;
        int i = find_name(sym, names, n);
        if (i < 0 || !targets[i] || r[k].r_addend != 0)
            continue;
        int rc = write_slot(relro, (void **)(lm->l_addr + r[k].r_offset), targets[i]);
        if (rc < 0)
            return rc;
        patched += rc;
    }
    return patched;
}

int elfbind_rebind(struct link_map *lm, const char *const *names, void *const *targets, size_t n)
{
    dyninfo_t d;
    int rc = read_dynamic(lm, &d);
    if (rc < 0)
        return rc;
    relro_t relro = { lm, 0, 0 };
    dl_iterate_phdr(find_relro, &relro);
    int a = rebind_table(lm, &relro, &d, d.rela, d.relasz, names, targets, n);
    if (a < 0)
        return a;
    int b = rebind_table(lm, &relro, &d, d.jmprel, d.pltrelsz, names, targets, n);
    return b < 0 ? b : a + b;
}
