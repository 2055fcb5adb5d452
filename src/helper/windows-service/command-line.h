/*
 * The service host's own arguments, and the command line it starts the
 * helper with (see service-host.c). Plain C over wchar_t: no Windows call
 * here, so the same code is unit-tested on any machine.
 */
#ifndef MKT_SERVICE_COMMAND_LINE_H
#define MKT_SERVICE_COMMAND_LINE_H

#include <stddef.h>
#include <wchar.h>

/* CreateProcessW's limit for lpCommandLine, terminating NUL included. */
#define MKT_MAX_COMMAND_LINE 32767
/* How long a stop may take before the helper is ended, unless --stop-timeout says otherwise. */
#define MKT_DEFAULT_STOP_TIMEOUT_S 20u

typedef struct {
  /* Where the helper's stdout and stderr, and the host's own lines, are appended. */
  const wchar_t *log;
  unsigned stop_timeout_s;
  /* The helper's program (a full path, never searched for) and its arguments. */
  wchar_t *const *child_argv;
  int child_argc;
} HostOptions;

/*
 * argv as CommandLineToArgvW gives it (argv[0] is the host):
 *   <host> --log <file> [--stop-timeout <seconds>] -- <program> [arguments...]
 * Answers NULL, or what is wrong.
 */
const wchar_t *parse_host_options(int argc, wchar_t *const *argv, HostOptions *out);

/*
 * The argv as one command line that Microsoft's C runtime (Node) splits back
 * into the same argv. malloc'd; NULL when it would not fit CreateProcessW's
 * limit or the program's path holds a quote (no rule can carry one there).
 */
wchar_t *windows_command_line(int argc, wchar_t *const *argv);

/* C:\... or \\server\share\...: a path that names its drive, so nothing is resolved against a current folder. */
int is_full_windows_path(const wchar_t *path);

#endif
