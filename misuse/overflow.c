/* Writes past either end of a block, then its free: one byte, 8 bytes, 32 bytes and 1 MiB,
 * byte by byte or with memcpy, over and under, small and big blocks, and 8 bytes at each size
 * class edge and at the mmap threshold, where the requested size is the whole slot. What the
 * free (and the probe after it) makes of the overwritten header or neighbour is the answer. */
#include <string.h>

#include "misuse/cases.h"

static char source[1 << 20];   /* what memcpy copies in: 'A's */

/* Overwrites len bytes after (or before) a size block, then frees it. A neighbour stays
 * live and is given its pattern again after the write: only what the allocator does with the
 * damage counts, not the program's own write into it. */
static void overflow(mz_t *h, size_t size, size_t len, bool under, bool with_memcpy)
{
    char *p = mz_must(h, size), *q = mz_must(h, size);
    if (!p || !q)
        return;
    char *dst = under ? p - len : p + size;
    mz_begin(h, size);
    if (with_memcpy) {
        memset(source, 'A', len);
        memcpy(dst, source, len);
    } else {
        volatile char *v = dst;
        for (size_t i = 0; i < len; i++)
            v[i] = 'A';
    }
    mz_free(h, p);
    mz_end(h);
    mz_live(h, q, size);
}

#define SMALL 24
#define BIG (256 << 10)
#define MB (1 << 20)

#define OF_CASE(n, size, len, under, mc, id, what, cite) \
    static void run_##n(mz_t *h) { overflow(h, size, len, under, mc); } \
    MISUSE(n, id, what, cite, 0, 0)
#define MB_CITE(x) "mimalloc-bench bench/security/" x
OF_CASE(ob_of_s, SMALL, 1, false, false, "one-byte-overflow-small", "1 byte past a 24-byte block",
        MB_CITE("one_byte_overflow_small"))
OF_CASE(ob_of_b, BIG, 1, false, false, "one-byte-overflow-big", "1 byte past a 256 KiB block",
        MB_CITE("one_byte_overflow_big"))
OF_CASE(ob_uf_s, SMALL, 1, true, false, "one-byte-underflow-small",
        "1 byte before a 24-byte block", MB_CITE("one_byte_underflow_small"))
OF_CASE(ob_uf_b, BIG, 1, true, false, "one-byte-underflow-big", "1 byte before a 256 KiB block",
        MB_CITE("one_byte_underflow_big"))
OF_CASE(ob_mof_s, SMALL, 1, false, true, "one-byte-memcpy-overflow-small",
        "memcpy 1 byte past a 24-byte block", MB_CITE("one_byte_memcpy_overflow_small"))
OF_CASE(ob_mof_b, BIG, 1, false, true, "one-byte-memcpy-overflow-big",
        "memcpy 1 byte past a 256 KiB block", MB_CITE("one_byte_memcpy_overflow_big"))
OF_CASE(ob_muf_s, SMALL, 1, true, true, "one-byte-memcpy-underflow-small",
        "memcpy 1 byte before a 24-byte block", MB_CITE("one_byte_memcpy_underflow_small"))
OF_CASE(ob_muf_b, BIG, 1, true, true, "one-byte-memcpy-underflow-big",
        "memcpy 1 byte before a 256 KiB block", MB_CITE("one_byte_memcpy_underflow_big"))
OF_CASE(tb_of_s, SMALL, 32, false, false, "32-byte-overflow-small",
        "32 bytes past a 24-byte block", MB_CITE("32_byte_overflow_small"))
OF_CASE(tb_of_b, BIG, 32, false, false, "32-byte-overflow-big", "32 bytes past a 256 KiB block",
        MB_CITE("32_byte_overflow_big"))
OF_CASE(tb_uf_s, SMALL, 32, true, false, "32-byte-underflow-small",
        "32 bytes before a 24-byte block", MB_CITE("32_byte_underflow_small"))
OF_CASE(tb_uf_b, BIG, 32, true, false, "32-byte-underflow-big",
        "32 bytes before a 256 KiB block", MB_CITE("32_byte_underflow_big"))
OF_CASE(tb_mof_s, SMALL, 32, false, true, "32-byte-memcpy-overflow-small",
        "memcpy 32 bytes past a 24-byte block", MB_CITE("32_byte_memcpy_overflow_small"))
OF_CASE(tb_mof_b, BIG, 32, false, true, "32-byte-memcpy-overflow-big",
        "memcpy 32 bytes past a 256 KiB block", MB_CITE("32_byte_memcpy_overflow_big"))
OF_CASE(tb_muf_s, SMALL, 32, true, true, "32-byte-memcpy-underflow-small",
        "memcpy 32 bytes before a 24-byte block", MB_CITE("32_byte_memcpy_underflow_small"))
OF_CASE(tb_muf_b, BIG, 32, true, true, "32-byte-memcpy-underflow-big",
        "memcpy 32 bytes before a 256 KiB block", MB_CITE("32_byte_memcpy_underflow_big"))
OF_CASE(mb_of_s, SMALL, MB, false, false, "one-mbyte-overflow-small",
        "1 MiB past a 24-byte block", MB_CITE("one_mbyte_overflow_small"))
OF_CASE(mb_of_b, BIG, MB, false, false, "one-mbyte-overflow-big", "1 MiB past a 256 KiB block",
        MB_CITE("one_mbyte_overflow_big"))
OF_CASE(mb_uf_s, SMALL, MB, true, false, "one-mbyte-underflow-small",
        "1 MiB before a 24-byte block", MB_CITE("one_mbyte_underflow_small"))
OF_CASE(mb_uf_b, BIG, MB, true, false, "one-mbyte-underflow-big",
        "1 MiB before a 256 KiB block", MB_CITE("one_mbyte_underflow_big"))
OF_CASE(mb_mof_s, SMALL, MB, false, true, "one-mbyte-memcpy-overflow-small",
        "memcpy 1 MiB past a 24-byte block", MB_CITE("one_mbyte_memcpy_overflow_small"))
OF_CASE(mb_mof_b, BIG, MB, false, true, "one-mbyte-memcpy-overflow-big",
        "memcpy 1 MiB past a 256 KiB block", MB_CITE("one_mbyte_memcpy_overflow_big"))
OF_CASE(mb_muf_s, SMALL, MB, true, true, "one-mbyte-memcpy-underflow-small",
        "memcpy 1 MiB before a 24-byte block", MB_CITE("one_mbyte_memcpy_underflow_small"))
OF_CASE(mb_muf_b, BIG, MB, true, true, "one-mbyte-memcpy-underflow-big",
        "memcpy 1 MiB before a 256 KiB block", MB_CITE("one_mbyte_memcpy_underflow_big"))
#define HM_CITE(x) "hardened_malloc test/" x
OF_CASE(hm_s1, 32, 1, false, false, "overflow-small-1-byte", "1 byte past a 32-byte block",
        HM_CITE("overflow_small_1_byte"))
OF_CASE(hm_s8, 32, 8, false, false, "overflow-small-8-byte", "8 bytes past a 32-byte block",
        HM_CITE("overflow_small_8_byte"))
OF_CASE(hm_l1, 128 << 10, 1, false, false, "overflow-large-1-byte",
        "1 byte past a 128 KiB block", HM_CITE("overflow_large_1_byte"))
OF_CASE(hm_l8, 128 << 10, 8, false, false, "overflow-large-8-byte",
        "8 bytes past a 128 KiB block", HM_CITE("overflow_large_8_byte"))

/* 8 bytes past and before blocks whose size is a class edge, up to the mmap threshold. */
#define EDGE(n, size) \
    OF_CASE(edge_of_##n, size, 8, false, false, "overflow-edge-" #n, \
            "8 bytes past a block at the size-class edge " #n, "new") \
    OF_CASE(edge_uf_##n, size, 8, true, false, "underflow-edge-" #n, \
            "8 bytes before a block at the size-class edge " #n, "new")
EDGE(16, 16)
EDGE(48, 48)
EDGE(64, 64)
EDGE(128, 128)
EDGE(256, 256)
EDGE(512, 512)
EDGE(1024, 1024)
EDGE(4096, 4096)
EDGE(16384, 16384)
EDGE(65536, 65536)
EDGE(131048, 131048)
EDGE(131072, 131072)
EDGE(262144, 262144)
