/* The replay driver built when no fuzzing engine is chosen: feeds each FILE, or every file
 * in each DIR (sorted, so runs are reproducible), to LLVMFuzzerTestOneInput and prints TAP
 * (tests/tap.h).
 * A finding aborts the process, which fails the test that runs it over the corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/tap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(false, "%s: cannot open", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)(n > 0 ? n : 0), f) : 0;
    fclose(f);
    if (!buf) {
        CHECK(false, "%s: out of memory", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    CHECK(true, "%s", path);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return run_file(path);
    struct dirent **list;
    int n = scandir(path, &list, NULL, by_name), bad = 0;
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
            bad |= run_path(sub);
        }
        free(list[i]);
    }
    free(n >= 0 ? list : NULL);
    return bad;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int bad = 0;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "-", 1) != 0)
            bad |= run_path(argv[i]);
    return tap_done() | bad;
}
