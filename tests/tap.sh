# The shell tests' one TAP helper, sourced (`. "$(dirname "$0")/../tap.sh"`): numbered lines as
# the checks run, a failed comparison shows both sides, the plan last. POSIX sh.
# tap_ok STATUS DESC   passes when STATUS is 0 (e.g. `cmd; tap_ok $? "what"`)
# tap_pass DESC, tap_fail DESC, tap_skip DESC WHY, tap_diag TEXT... (each TEXT its # lines)
# tap_check GOT WANT DESC   passes when the strings are equal; a failure shows both
# tap_done   prints the plan; its status is 1 if any check failed (end a script with it)
# Leaves out: bail-out, todo directives.
tap_n=0
tap_failed=0

tap_pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
tap_fail() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $1"; }
tap_skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
tap_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

tap_ok()
{
    if [ "$1" -eq 0 ]; then tap_pass "$2"; else tap_fail "$2"; fi
    [ "$1" -eq 0 ]
}

tap_check()
{
    if [ "$1" = "$2" ]; then
        tap_pass "$3"
    else
        tap_fail "$3"
        echo "# got  '$1'"
        echo "# want '$2'"
        return 1
    fi
}

tap_done()
{
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
