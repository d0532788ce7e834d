/* Warmup sequences (see warmup.h). Why warmup sequences get their own seed stream: adding or
 * removing --warmup must not change which checked sequences a seed gives, so a finding's
 * "sequence N of seed S" means the same with or without it. */
#include "src/engine/warmup.h"
#include "src/engine/gen.h"

#define WARM_SALT 0x5741524d48454150ull   /* "WARMHEAP" */
#define WARM_HEAP_MAX ((uint64_t)64 << 20)

/* The big heap warmup sequences build: --big-heap's, or 64 MiB within half the live budget. */
static uint64_t warm_heap(const engine_opts_t *o)
{
    if (o->gen.big_heap)
        return o->gen.big_heap;
    uint64_t live = o->exec.max_live ? o->exec.max_live : (uint64_t)256 << 20;
    return live / 2 < WARM_HEAP_MAX ? live / 2 : WARM_HEAP_MAX;
}

int engine_gen_sequence(trace_t *t, const engine_opts_t *o, uint64_t i)
{
    if (!(i & ENGINE_WARMUP))
        return gen_sequence(t, gen_seq_seed(o->seed, i), &o->gen);
    gen_opts_t g = o->gen;
    g.big_heap = warm_heap(o);
    g.big_heap_one_in = 1;
    return gen_sequence(t, gen_seq_seed(o->seed ^ WARM_SALT, i & ~ENGINE_WARMUP), &g);
}

static uint64_t warm_count(const engine_opts_t *o, const warm_span_t *sp)
{
    return o->warmup > sp->warm_from ? o->warmup - sp->warm_from : 0;
}

uint64_t warm_span_seq(const engine_opts_t *o, const warm_span_t *sp, uint64_t p)
{
    uint64_t n = warm_count(o, sp);
    return p < n ? ENGINE_WARMUP | (sp->warm_from + p) : sp->start + (p - n);
}

uint64_t warm_span_pos(const engine_opts_t *o, const warm_span_t *sp, uint64_t seq)
{
    if (seq & ENGINE_WARMUP)
        return (seq & ~ENGINE_WARMUP) - sp->warm_from;
    return warm_count(o, sp) + (seq - sp->start);
}

void warm_advance(warm_span_t *sp, uint64_t seq, uint64_t *next)
{
    if (seq & ENGINE_WARMUP)
        sp->warm_from = (seq & ~ENGINE_WARMUP) + 1;
    else
        *next = seq + 1;
}
