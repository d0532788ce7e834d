/* Shows the hardening properties of one allocator without the harden runner: one forked
 * child per property (each starts from the heap the driver loaded), and HARDEN_PROP_SAMPLES
 * fresh processes (this program re-executed with --sample) for those that need them.
 * Usage: props_driver SPEC           prints "id<TAB>value" per property, or "id<TAB>error: why"
 *        props_driver --sample SPEC  prints one sample in hex (internal)
 * Exit status 0, or 2 when SPEC does not load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/load/alloc.h"
#include "src/harden/props.h"

static int load(alloc_t *a, const char *spec)
{
    char err[512];
    if (alloc_load(a, spec, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "props_driver: %s: %s\n", spec, err);
    return -1;
}

/* Runs fn(i) in a child; its one line of output lands in out. */
static void in_child(const alloc_t *a, size_t i, char *out, size_t n)
{
    int fd[2];
    if (pipe(fd)) {
        snprintf(out, n, "error: pipe");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        char buf[256];
        int rc = harden_prop_measure(i, a, buf, sizeof buf);
        dprintf(fd[1], "%s%s", rc ? "error: " : "", buf);
        _exit(0);
    }
    close(fd[1]);
    ssize_t got = pid < 0 ? -1 : read(fd[0], out, n - 1);
    out[got > 0 ? got : 0] = 0;
    close(fd[0]);
    int st;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (got <= 0)
        snprintf(out, n, "error: the measuring child died");
}

static uintptr_t sample(const char *self, const char *spec)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' --sample '%s'", self, spec);
    FILE *f = popen(cmd, "r");
    unsigned long v = 0;
    if (!f || fscanf(f, "%lx", &v) != 1)
        v = 0;
    if (f)
        pclose(f);
    return v;
}

static void entropy(const char *self, const char *spec, char *out, size_t n)
{
    uintptr_t s[HARDEN_PROP_SAMPLES];
    for (size_t k = 0; k < HARDEN_PROP_SAMPLES; k++)
        s[k] = sample(self, spec);
    char buf[256];
    int rc = harden_prop_entropy(s, HARDEN_PROP_SAMPLES, buf, sizeof buf);
    snprintf(out, n, "%s%s", rc ? "error: " : "", buf);
}

int main(int argc, char **argv)
{
    alloc_reexec_for_tls(argv);
    static alloc_t a;
    if (argc == 3 && !strcmp(argv[1], "--sample")) {
        if (load(&a, argv[2]))
            return 2;
        printf("%lx\n", (unsigned long)harden_prop_sample(&a));
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: props_driver SPEC\n");
        return 2;
    }
    if (load(&a, argv[1]))
        return 2;
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = 0;
    for (size_t i = 0; i < harden_prop_count(); i++) {
        char out[300];
        if (harden_prop_needs_samples(i))
            entropy(self, argv[1], out, sizeof out);
        else
            in_child(&a, i, out, sizeof out);
        printf("%s\t%s\n", harden_prop_id(i), out);
    }
    return 0;
}
