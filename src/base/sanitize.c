/* Sanitizer defaults for every program of a sanitized build (compiled into each executable
 * through core_dep, since a static library's object would only be linked if referenced).
 * There the sanitizer's allocator is "system", and the allocator under test must be allowed to
 * fail and to crash: huge requests return NULL instead of aborting, and a plugin's SIGSEGV or
 * abort() reaches our supervisors as the signal it is. */
__attribute__((visibility("default"))) const char *__asan_default_options(void);

__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:"
           "handle_abort=0:detect_leaks=0";
}
