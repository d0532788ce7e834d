/* Placeholder until its issue lands: says so and exits 2. */
#include "src/cli.h"
#include "src/cmds.h"

int cmd_generate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("'generate' is not built yet");
    return EXIT_USAGE;
}
