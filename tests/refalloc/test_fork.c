/* Fork while other threads are inside the allocator: the atfork handlers must leave every
 * lock usable in the child, which then calls all 13 functions. The parent waits for each
 * child with a timeout, so a deadlocked child fails the test instead of hanging it. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/refalloc/refalloc.h"
#include "tests/tap.h"

enum { THREADS = 3, FORKS = 40 };

static int stop;

static void *churn(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 2654435761u + 1;
    void *keep[64] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned i = (unsigned)(s >> 58);
        refalloc_free(keep[i]);
        size_t n = (s >> 20) % 4 == 0 ? 150000 : (s >> 24) % 3000;
        keep[i] = refalloc_malloc(n);
    }
    for (int i = 0; i < 64; i++)
        refalloc_free(keep[i]);
    return NULL;
}

/* Every entry point once, each result checked; the exit status is the failure count. */
static int child_work(void)
{
    int bad = 0;
    void *p = refalloc_malloc(100), *q = refalloc_calloc(10, 10), *m = NULL;
    bad += !p || !q;
    p = refalloc_realloc(p, 300000);
    q = refalloc_reallocarray(q, 20, 20);
    bad += !p || !q || refalloc_malloc_usable_size(p) < 300000;
    void *a = refalloc_aligned_alloc(128, 50), *b = refalloc_memalign(4096, 10);
    void *v = refalloc_valloc(10), *pv = refalloc_pvalloc(10);
    bad += refalloc_posix_memalign(&m, 64, 1000) || !a || !b || !v || !pv;
    refalloc_free(p);
    refalloc_free_sized(q, 400);
    refalloc_free_aligned_sized(a, 128, 50);
    refalloc_free(b);
    refalloc_free(v);
    refalloc_free(pv);
    refalloc_free(m);
    return bad;
}

/* Exit status of pid, or -1 if it did not finish within 10 s (it is then killed). */
static int wait_timeout(pid_t pid)
{
    int st;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int main(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
    int bad = 0, hung = 0;
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            _exit(child_work());
        }
        int r = pid < 0 ? -2 : wait_timeout(pid);
        hung += r == -1;
        bad += r != 0;
        nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(hung == 0, "%d forks amid allocating threads: no child deadlocked (%d hung)", FORKS, hung);
    CHECK(bad == 0, "every child used all 13 functions successfully (%d failed)", bad);
    return tap_done();
}
