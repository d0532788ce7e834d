/* The reporting half of a check: verdict and message bookkeeping in the check_ctx_t the runner
 * put in shared memory. Messages are formatted with vsnprintf into the context's fixed buffers,
 * so reporting never calls the allocator under test (nor libc's malloc for plain formats).
 * Precedence: FAIL is sticky; DIVERGENCE and SKIP never undo it; the first message of the
 * strongest verdict wins. */
#include <stdio.h>
#include <string.h>

#include "conformance/check.h"

static void set_msg(check_ctx_t *c, const char *fmt, va_list ap)
{
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
}

void check_fail(check_ctx_t *c, const char *fmt, ...)
{
    va_list ap;

    if (c->capacity_hit) {
        check_skip(c, "needs more memory than the declared fixed heap holds: %s",
                   c->capacity_msg);
        return;
    }
    if (c->verdict == VERDICT_FAIL)
        return;
    c->verdict = VERDICT_FAIL;
    va_start(ap, fmt);
    set_msg(c, fmt, ap);
    va_end(ap);
}

void check_diverge(check_ctx_t *c, const char *fmt, ...)
{
    va_list ap;

    if (c->verdict == VERDICT_FAIL || c->verdict == VERDICT_DIVERGENCE)
        return;
    c->verdict = VERDICT_DIVERGENCE;
    va_start(ap, fmt);
    set_msg(c, fmt, ap);
    va_end(ap);
}

void check_skip(check_ctx_t *c, const char *fmt, ...)
{
    va_list ap;

    if (c->verdict != VERDICT_PASS)
        return;
    c->verdict = VERDICT_SKIP;
    va_start(ap, fmt);
    set_msg(c, fmt, ap);
    va_end(ap);
}

/* Behaviour lines accumulate ("; "-separated) so a check can describe several choices. */
void check_behaviour(check_ctx_t *c, const char *fmt, ...)
{
    size_t len = strnlen(c->behaviour, sizeof c->behaviour);
    va_list ap;

    if (len + 3 >= sizeof c->behaviour)
        return;
    if (len > 0) {
        memcpy(c->behaviour + len, "; ", 3);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(c->behaviour + len, sizeof c->behaviour - len, fmt, ap);
    va_end(ap);
}
