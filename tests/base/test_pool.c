/* Unit tests of the watched-child pool (src/base/pool.h): a child that answers through its
 * slot, one that hangs, one that crashes, one that floods its output, one whose grandchild
 * leaves the session holding the output pipe, one whose grandchild stays in its group, and a
 * stop while one runs. Each must be reported as what it was, and when the pool is closed no
 * process of the test may be left. Processes are found by a marker in their environment
 * (POOL_TEST_TAG, random, set by re-executing this test once), never by name: other runs of
 * the same binaries may share the machine. Prints TAP. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/pool.h"
#include "tests/tap.h"

enum { ANSWER, HANG, CRASH, FLOOD, ESCAPE, GROUP, NTASKS };

#define TAIL 64
#define FLOOD_BYTES (8 << 20)

typedef struct seen {
    int ended;
    pool_end_t end;
    int answer;
    char tail[TAIL + 1];
} seen_t;

static seen_t seen[NTASKS + 1];

static void flood(void)
{
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    for (size_t n = 0; n < FLOOD_BYTES; n += sizeof buf)
        if (write(1, buf, sizeof buf) < 0)
            _exit(1);
    (void)!write(1, "END\n", 4);
}

/* A grandchild that sleeps forever, holding the output pipe; with setsid, outside the group. */
static void grandchild(bool leave)
{
    if (fork() == 0) {
        if (leave)
            setsid();
        for (;;)
            pause();
    }
    puts("the child leaves");
}

static void body(void *arg, size_t task, void *slot)
{
    (void)arg;
    switch (task) {
    case ANSWER: *(int *)slot = 42; puts("hello"); break;
    case HANG: case NTASKS: for (;;) pause();
    case CRASH: raise(SIGSEGV); break;
    case FLOOD: flood(); break;
    case ESCAPE: grandchild(true); break;
    case GROUP: grandchild(false); break;
    }
    fflush(stdout);
}

static void done(void *arg, const pool_end_t *e)
{
    (void)arg;
    seen_t *s = &seen[e->task];
    s->ended++;
    s->end = *e;
    s->answer = *(int *)e->slot;
    memcpy(s->tail, e->tail, e->tail_len);
    s->tail[e->tail_len] = 0;
}

/* The processes other than this one whose environment holds our marker, zombies aside. */
static int tagged_alive(const char *needle)
{
    int n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        int pid = atoi(e->d_name);
        char path[64], env[65536], stat[512];
        if (pid <= 0 || pid == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        int fd = open(path, O_RDONLY);
        ssize_t len = fd >= 0 ? read(fd, env, sizeof env) : -1;
        if (fd >= 0)
            close(fd);
        bool ours = false;
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(env + i) + 1)
            ours |= strncmp(env + i, needle, strlen(needle)) == 0;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        fd = ours ? open(path, O_RDONLY) : -1;
        len = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
        if (fd >= 0)
            close(fd);
        stat[len > 0 ? len : 0] = 0;
        char *paren = strrchr(stat, ')');
        n += ours && paren && paren[1] && paren[2] != 'Z';
    }
    if (d)
        closedir(d);
    return n;
}

static void run_all(pool_t *p)
{
    size_t next = 0;
    while (next < NTASKS || p->running > 0) {
        for (; next < NTASKS && pool_has_room(p); next++)
            CHECK(pool_start(p, next, NULL) == 0, "start task %zu", next);
        pool_wait(p);
    }
}

static bool killed_by(const pool_end_t *e, int sig)
{
    return (e->si.si_code == CLD_KILLED || e->si.si_code == CLD_DUMPED) && e->si.si_status == sig;
}

static bool exited_0(const pool_end_t *e)
{
    return e->si.si_code == CLD_EXITED && e->si.si_status == 0 && !e->timed_out;
}

static void expect_ends(void)
{
    for (int t = 0; t < NTASKS; t++)
        CHECK(seen[t].ended == 1, "task %d is reported once (%d)", t, seen[t].ended);
    CHECK(exited_0(&seen[ANSWER].end) && seen[ANSWER].answer == 42 &&
          strcmp(seen[ANSWER].tail, "hello\n") == 0, "the answer comes through the slot and "
          "the output (%s)", seen[ANSWER].tail);
    CHECK(seen[HANG].end.timed_out && killed_by(&seen[HANG].end, SIGKILL),
          "a hang is killed at its deadline");
    CHECK(killed_by(&seen[CRASH].end, SIGSEGV) && !seen[CRASH].end.timed_out,
          "a crash is a result naming its signal");
    size_t len = strlen(seen[FLOOD].tail);
    CHECK(exited_0(&seen[FLOOD].end) && len == TAIL &&
          strcmp(seen[FLOOD].tail + TAIL - 4, "END\n") == 0,
          "8 MiB of output: the child never stalls, the last %d bytes are kept", TAIL);
    CHECK(exited_0(&seen[ESCAPE].end) && strcmp(seen[ESCAPE].tail, "the child leaves\n") == 0,
          "a grandchild that left the session holding the pipe does not delay the end");
    CHECK(exited_0(&seen[GROUP].end), "a grandchild left in the group does not delay the end");
}

static void reexec_tagged(char **argv)
{
    unsigned long long r = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &r, sizeof r) != sizeof r)
        r = (unsigned long long)getpid() * 2654435761u;
    if (fd >= 0)
        close(fd);
    char tag[32];
    snprintf(tag, sizeof tag, "%016llx", r);
    setenv("POOL_TEST_TAG", tag, 1);
    execv("/proc/self/exe", argv);
    perror("test_pool: re-executing with a marker");
    exit(1);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!getenv("POOL_TEST_TAG"))
        reexec_tagged(argv);
    char needle[64];
    snprintf(needle, sizeof needle, "POOL_TEST_TAG=%s", getenv("POOL_TEST_TAG"));
    printf("TAP version 13\n");
    static pool_t p;
    pool_opts_t o = { .jobs = 3, .timeout_ms = 2000, .slot_size = sizeof(int),
                      .tail_size = TAIL, .body = body, .done = done };
    CHECK(pool_open(&p, &o) == 0, "the pool opens");
    run_all(&p);
    expect_ends();
    CHECK(pool_start(&p, NTASKS, NULL) == 0, "start a child to stop");
    pool_wait(&p);
    pool_stop(&p);
    CHECK(seen[NTASKS].ended == 1 && seen[NTASKS].end.stopped && !seen[NTASKS].end.timed_out,
          "a stop reports the running child as stopped");
    pool_close(&p);
    CHECK(tagged_alive(needle) == 0, "no child or grandchild is left");
    return tap_done();
}
