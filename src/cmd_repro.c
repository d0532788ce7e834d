/* Placeholder until its issue lands: says so and exits 2. */
#include "src/cli.h"
#include "src/cmds.h"

int cmd_repro(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("'repro' is not built yet");
    return EXIT_USAGE;
}
