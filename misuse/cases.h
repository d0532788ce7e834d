/* The list of every misuse case, in registry order, as an X-macro: CASE(name) names the
 * misuse_t object `misuse_<name>` defined in its family file. registry.c expands it into
 * misuse_cases[]; family files include it for the declarations and for MISUSE, which defines
 * a case from its run_<name> function. Add a case: define it in its family, add one line here. */
#ifndef ALLOCHECK_MISUSE_CASES_H
#define ALLOCHECK_MISUSE_CASES_H

#include "misuse/misuse.h"

#define MISUSE_CASE_LIST(CASE) \
    CASE(df_small_now) \
    CASE(df_small_delayed) \
    CASE(df_small_interleaved) \
    CASE(df_small_reuse) \
    CASE(df_large_now) \
    CASE(df_large_delayed) \
    CASE(df_large_interleaved) \
    CASE(df_large_reuse) \
    CASE(df_mmap_now) \
    CASE(df_mmap_delayed) \
    CASE(df_mmap_interleaved) \
    CASE(df_mmap_reuse) \
    CASE(df_pqp) \
    CASE(df_calloc) \
    CASE(df_aligned) \
    CASE(df_threads) \
    CASE(df_main_thread) \
    CASE(if_stack) \
    CASE(if_alloca) \
    CASE(if_global) \
    CASE(if_close) \
    CASE(if_unaligned_small) \
    CASE(if_unaligned_large) \
    CASE(if_inner_large) \
    CASE(if_unaligned) \
    CASE(if_far) \
    CASE(if_fake_stack) \
    CASE(if_fake_mmap) \
    CASE(if_fake_mmapped) \
    CASE(if_uninit) \
    CASE(if_aligned_inner) \
    CASE(if_memalign_inner) \
    CASE(fs_double) \
    CASE(fs_stack) \
    CASE(fs_smaller) \
    CASE(fs_larger) \
    CASE(fs_class) \
    CASE(fs_zero) \
    CASE(fs_mmap) \
    CASE(fs_small_as_mmap) \
    CASE(fas_double) \
    CASE(fas_align) \
    CASE(fas_bigger_align) \
    CASE(fas_size) \
    CASE(fas_malloc) \
    CASE(rf_small) \
    CASE(rf_shrink) \
    CASE(rf_same) \
    CASE(rf_large) \
    CASE(rf_mmap) \
    CASE(rarr_small) \
    CASE(rarr_large) \
    CASE(r0_free) \
    CASE(rs_stack) \
    CASE(ras_stack) \
    CASE(r_wild) \
    CASE(r_inner) \
    CASE(or_small) \
    CASE(or_large) \
    CASE(ur_small) \
    CASE(ur_mmap) \
    CASE(ob_of_s) \
    CASE(ob_of_b) \
    CASE(ob_uf_s) \
    CASE(ob_uf_b) \
    CASE(ob_mof_s) \
    CASE(ob_mof_b) \
    CASE(ob_muf_s) \
    CASE(ob_muf_b) \
    CASE(tb_of_s) \
    CASE(tb_of_b) \
    CASE(tb_uf_s) \
    CASE(tb_uf_b) \
    CASE(tb_mof_s) \
    CASE(tb_mof_b) \
    CASE(tb_muf_s) \
    CASE(tb_muf_b) \
    CASE(mb_of_s) \
    CASE(mb_of_b) \
    CASE(mb_uf_s) \
    CASE(mb_uf_b) \
    CASE(mb_mof_s) \
    CASE(mb_mof_b) \
    CASE(mb_muf_s) \
    CASE(mb_muf_b) \
    CASE(hm_s1) \
    CASE(hm_s8) \
    CASE(hm_l1) \
    CASE(hm_l8) \
    CASE(edge_of_16) \
    CASE(edge_uf_16) \
    CASE(edge_of_48) \
    CASE(edge_uf_48) \
    CASE(edge_of_64) \
    CASE(edge_uf_64) \
    CASE(edge_of_128) \
    CASE(edge_uf_128) \
    CASE(edge_of_256) \
    CASE(edge_uf_256) \
    CASE(edge_of_512) \
    CASE(edge_uf_512) \
    CASE(edge_of_1024) \
    CASE(edge_uf_1024) \
    CASE(edge_of_4096) \
    CASE(edge_uf_4096) \
    CASE(edge_of_16384) \
    CASE(edge_uf_16384) \
    CASE(edge_of_65536) \
    CASE(edge_uf_65536) \
    CASE(edge_of_131048) \
    CASE(edge_uf_131048) \
    CASE(edge_of_131072) \
    CASE(edge_uf_131072) \
    CASE(edge_of_262144) \
    CASE(edge_uf_262144) \
    CASE(waf_small) \
    CASE(waf_large) \
    CASE(waf_small_reuse) \
    CASE(waf_large_reuse) \
    CASE(waf_mb) \
    CASE(waf_mb_reuse) \
    CASE(waf_calloc) \
    CASE(waf_calloc_large) \
    CASE(poison_small) \
    CASE(poison_large) \
    CASE(raf_small) \
    CASE(raf_large) \
    CASE(zaf) \
    CASE(zom) \
    CASE(zom_many) \
    CASE(zom_large) \
    CASE(malloc_reuse) \
    CASE(realloc_reuse) \
    CASE(realloc_tail) \
    CASE(read_zero) \
    CASE(write_zero) \
    CASE(exec_heap) \
    CASE(huge) \
    CASE(us_inner) \
    CASE(us_unaligned) \
    CASE(us_freed) \
    CASE(us_wild)

#define MISUSE_DECLARE(name) extern const misuse_t misuse_##name;
MISUSE_CASE_LIST(MISUSE_DECLARE)
#undef MISUSE_DECLARE

/* Every case needs malloc and free besides what it names. */
#define MISUSE(n, id, property, cite, needs, flags) \
    const misuse_t misuse_##n = { id, property, cite, \
                                  (needs) | AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE), flags, run_##n, \
                                  __FILE__ };

#endif
