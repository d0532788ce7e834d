/* The subcommands. Each takes the arguments after the command name (argv[0] is
 * "allocheck COMMAND") and returns the process exit status (src/cli/cli.h). */
#ifndef ALLOCHECK_SRC_CLI_CMDS_H
#define ALLOCHECK_SRC_CLI_CMDS_H

int cmd_allocators(int argc, char **argv);
int cmd_conform(int argc, char **argv);
int cmd_fuzz(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_harden(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_repro(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif
