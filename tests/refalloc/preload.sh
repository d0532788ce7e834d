#!/bin/sh
# Real programs under LD_PRELOAD=$1 (liballocheck-ref.so): python3 doing real work and gcc
# compiling and linking a C file. Prints TAP. $2 is a scratch directory, $3 gcc (empty: the
# gcc cases are skipped).
so=$1
dir=$2
gcc=${3:-}
. "$(dirname "$0")/../tap.sh"
check() { # name, then a command that must exit 0
    name=$1; shift
    "$@" >"$dir/out" 2>&1
    tap_ok $? "$name" || sed 's/^/# /' "$dir/out"
}
mkdir -p "$dir"
rm -f "$dir"/ld.*
check "python3 under refalloc: dicts, strings, json, threads, sort" \
    env LD_PRELOAD="$so" python3 -c '
import json, threading, random
random.seed(7)
d = [{"k": i, "v": "x" * random.randrange(0, 5000), "l": list(range(i % 50))} for i in range(15000)]
assert json.loads(json.dumps(d)) == d
def work(k):
    r = random.Random(k)
    blobs = [bytearray(r.randrange(1, 300000)) for _ in range(300)]
    assert sum(len(b) for b in blobs) > 0
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
s = sorted(str(random.random()) for _ in range(50000))
assert s == sorted(s)
with open("/proc/self/maps") as f:
    assert "allocheck-ref" in f.read(), "not preloaded"
'
# The program names the object its malloc comes from: a preload that did not take effect
# would run it on the C library's.
cat >"$dir/hello.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    Dl_info i;
    const char *from = dladdr((void *)malloc, &i) && i.dli_fname ? strrchr(i.dli_fname, '/') : 0;
    char *s = strdup("refalloc");
    printf("%s %zu %s\n", s, strlen(s), from ? from + 1 : "?");
    free(s);
    return 0;
}
C
# The dynamic linker's own account shows refalloc initialised in gcc and the tools it runs.
if [ -z "$gcc" ]; then
    for name in "gcc compiles and links a C file under refalloc" "the program it built runs"; do
        tap_skip "$name" "gcc not found"
    done
    tap_done
    exit
fi
check "gcc compiles and links a C file under refalloc" \
    sh -c "LD_PRELOAD='$so' LD_DEBUG=files LD_DEBUG_OUTPUT='$dir/ld' '$gcc' -O2 -Wall -o '$dir/hello' '$dir/hello.c' -ldl &&
           cat '$dir'/ld.* | grep -q 'calling init: .*liballocheck-ref'"
check "the program it built runs under refalloc, its malloc from refalloc" \
    sh -c "LD_PRELOAD='$so' '$dir/hello' | grep -qx 'refalloc 8 liballocheck-ref.so'"
tap_done
