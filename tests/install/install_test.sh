#!/bin/bash
# `meson install` into a scratch DESTDIR puts every file in place: the binary (which runs), the
# reference .so (which the installed binary finds for reproducers), the plugin header, the
# pkg-config file, the man page and the bash completion (which completes commands). TAP.
# usage: install_test.sh MESON BUILD_ROOT SCRATCH PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR
#        COMPLETIONSDIR HAVE_MAN(true|false)
set -u
. "$(dirname "$0")/../tap.sh"
meson=$1 build=$2 dest=$3 prefix=$4 bindir=$5 libdir=$6 incdir=$7 mandir=$8 compdir=$9
have_man=${10}
# Each directory option is either absolute or under the prefix.
under() { case $1 in /*) echo "$dest$1" ;; *) echo "$dest$prefix/$1" ;; esac; }

rm -rf "$dest"
"$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest.log" 2>&1
tap_ok $? "meson install --destdir succeeds" || sed 's/^/# /' "$dest.log"

exe=$(under "$bindir")/allocheck
[ -x "$exe" ]; tap_ok $? "binary installed: $bindir/allocheck"
version=$("$exe" --version 2>&1)
case $version in "allocheck "[0-9]*) r=0 ;; *) r=1 ;; esac
tap_ok $r "the installed binary runs --version (got: $version)"
so=$(under "$libdir")/liballocheck-ref.so
[ -f "$so" ]; tap_ok $? "reference allocator installed: $libdir/liballocheck-ref.so"
hdr=$(under "$incdir")/allocheck/plugin.h
[ -f "$hdr" ]; tap_ok $? "header installed: $incdir/allocheck/plugin.h"
pc=$(under "$libdir")/pkgconfig/allocheck.pc
[ -f "$pc" ] && PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags "$pc" >/dev/null 2>&1 ||
    grep -q '^Cflags:' "$pc" 2>/dev/null
tap_ok $? "pkg-config file installed and readable: $libdir/pkgconfig/allocheck.pc"

# The installed tool finds the installed reference .so from its own directory.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '# allocheck trace v1\nmalloc 0 100\nfree 0\n' >"$tmp/t.trace"
env -u ALLOCHECK_REF_SO "$exe" repro -a reference "$tmp/t.trace" -o "$tmp/r.c" >/dev/null 2>&1 &&
    grep -qF "$(cd "$(dirname "$so")" && pwd)/liballocheck-ref.so" "$tmp/r.c"
tap_ok $? "the installed binary's reproducer names the installed reference .so"

man=$(under "$mandir")/man1/allocheck.1
if [ "$have_man" = true ]; then
    [ -s "$man" ] && grep -q '^\.SH.*COMMANDS' "$man"
    tap_ok $? "man page installed: $mandir/man1/allocheck.1"
else
    tap_skip "man page installed" "scdoc not found"
fi

comp=$dest$compdir/allocheck
[ -f "$comp" ]; tap_ok $? "bash completion installed: $compdir/allocheck"
if [ -f /usr/share/bash-completion/bash_completion ] && [ -f "$comp" ]; then
    got=$(PATH=$(dirname "$exe"):$PATH bash -c '
        source /usr/share/bash-completion/bash_completion
        source "$1"
        COMP_WORDS=(allocheck con); COMP_CWORD=1; COMP_LINE="allocheck con"; COMP_POINT=13
        _allocheck allocheck con allocheck
        echo "${COMPREPLY[*]}"' _ "$comp" 2>&1)
    [ "$got" = conform ]; tap_ok $? "the completion completes 'allocheck con' to conform (got: $got)"
else
    tap_skip "the completion completes 'allocheck con'" "bash-completion not installed"
fi
rm -rf "$dest" "$dest.log"
tap_done
