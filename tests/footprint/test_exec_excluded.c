/* The executor keeps its own state out of the footprint: its mapping (the shadow model) is
 * registered while it lives. Against an allocator whose memory is a static array (the
 * executable's statics, which never count), a run of a thousand blocks must leave the reading
 * where it was: any growth would be the harness's. */
#include <string.h>

#include "src/exec/exec.h"
#include "src/footprint/measure.h"
#include "tests/tap.h"

static _Alignas(64) unsigned char arena[4 << 20];
static size_t used;

static void *bump_malloc(void *c, size_t n)
{
    size_t at = (used + 63) & ~(size_t)63;
    if (at + n > sizeof arena)
        return NULL;
    used = at + n;
    return arena + at;
}

static void bump_free(void *c, void *p) {}

int main(void)
{
    alloc_t a;
    memset(&a, 0, sizeof a);
    a.malloc = bump_malloc;
    a.free = bump_free;
    static op_t ops[2 * OPS_SLOTS];
    for (unsigned s = 0; s < OPS_SLOTS; s++) {
        ops[s] = (op_t){ .kind = OP_MALLOC, .slot = (uint16_t)s, .size = 100 };
        ops[OPS_SLOTS + s] = (op_t){ .kind = OP_FREE, .slot = (uint16_t)s };
    }
    trace_t t = { ops, 2 * OPS_SLOTS, 2 * OPS_SLOTS };
    struct footprint before, live;
    footprint_read(&before);
    exec_t *e = exec_new(&a, NULL);
    finding_t f;
    int r = e ? exec_run(e, &t, &f, NULL) : -1;
    footprint_read(&live);
    long long res = (long long)live.resident - (long long)before.resident;
    long long map = (long long)live.mapped - (long long)before.mapped;
    CHECK(e && r == 0, "an executor runs %u mallocs and frees clean (%d)", OPS_SLOTS, r);
    CHECK(res < 16384 && map < 16384, "its state is left out: resident %+lld, mapped %+lld bytes",
          res, map);
    exec_free(e);
    return tap_done();
}
