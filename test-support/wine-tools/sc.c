/*
 * A fake sc.exe for the Wine lab: create, start, stop, delete and query of
 * services kept in a state file (MKT_FAKE_SC_STATE, else sc-state.txt beside
 * the exe).
 *
 * Follows the documented tool: Microsoft's sc.exe reference
 * (learn.microsoft.com, Windows Commands: sc create, sc start, sc stop,
 * sc delete, sc query): options are written `name= value`, the value being
 * the next argument; results and failures go to stdout as
 * "[SC] <Function> SUCCESS" / "[SC] <Function> FAILED <code>:" followed by
 * the system message for the code, and the exit code is that Win32 error:
 * 1060 ERROR_SERVICE_DOES_NOT_EXIST, 1062 ERROR_SERVICE_NOT_ACTIVE,
 * 1073 ERROR_SERVICE_EXISTS, 1056 ERROR_SERVICE_ALREADY_RUNNING,
 * 1072 ERROR_SERVICE_MARKED_FOR_DELETE (deleting a running service only
 * marks it; it goes when it stops). Query and start/stop print the
 * SERVICE_STATUS block of the documented layout.
 *
 * `start` runs binPath's command line as a detached process and records its
 * PID (and start time, against PID reuse); `query` reports RUNNING while that
 * process lives, and STOPPED with exit code 1067 (the process terminated
 * unexpectedly) once it has died by itself; `stop` terminates it, since the
 * program is not a real service and cannot receive SERVICE_CONTROL_STOP.
 * A real service control manager starts only programs that speak the service
 * protocol (StartServiceCtrlDispatcher); any other program fails to start
 * with 1053 after 30 s. MKT_FAKE_SC_STRICT=1 answers that 1053 at once
 * instead of starting anything.
 *
 * State lines: name TAB state TAB pid TAB start-time TAB last exit code TAB
 * start-type TAB account TAB display name TAB binPath; state is STOPPED, RUNNING or
 * DELETE_PENDING.
 */
#include "fake-common.h"

typedef struct {
  char name[256], state[32], start_type[32], obj[256], display[256], bin[4096];
  unsigned long pid;
  unsigned long long started;
  unsigned exit_code;
} Service;

static Service svcs[64];
static int n_svcs;
static char *state;

static void load(void) {
  char *text = read_file_utf8(state), **lines;
  int n = split_lines(text ? text : _strdup(""), &lines);
  for (int i = 0; i < n && n_svcs < 64; i++) {
    if (!lines[i][0]) continue;
    char *f[9] = {lines[i]};
    for (int k = 1; k < 9 && f[k - 1]; k++) {
      char *tab = strchr(f[k - 1], '\t');
      if (tab) *tab = 0, f[k] = tab + 1;
    }
    if (!f[8]) {
      errf("fake sc.exe: unreadable state line %d in %s\r\n", i + 1, state);
      ExitProcess(2);
    }
    Service *s = &svcs[n_svcs++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", f[0]);
    snprintf(s->state, sizeof s->state, "%s", f[1]);
    s->pid = strtoul(f[2], NULL, 10);
    s->started = strtoull(f[3], NULL, 10);
    s->exit_code = (unsigned)strtoul(f[4], NULL, 10);
    snprintf(s->start_type, sizeof s->start_type, "%s", f[5]);
    snprintf(s->obj, sizeof s->obj, "%s", f[6]);
    snprintf(s->display, sizeof s->display, "%s", f[7]);
    snprintf(s->bin, sizeof s->bin, "%s", f[8]);
  }
}

static void save(void) {
  Buf b = {0};
  buf_add(&b, "", 0);
  for (int i = 0; i < n_svcs; i++) {
    Service *s = &svcs[i];
    buf_printf(&b, "%s\t%s\t%lu\t%llu\t%u\t%s\t%s\t%s\t", s->name, s->state, s->pid, s->started, s->exit_code, s->start_type, s->obj, s->display);
    buf_add(&b, s->bin, strlen(s->bin));
    buf_add(&b, "\n", 1);
  }
  write_file_utf8(state, b.data);
}

static unsigned long long creation_time(HANDLE h) {
  FILETIME created, exited, kernel, user;
  if (!GetProcessTimes(h, &created, &exited, &kernel, &user)) return 0;
  return ((unsigned long long)created.dwHighDateTime << 32) | created.dwLowDateTime;
}

/* The recorded process, if it is still the one we started and still running. */
static HANDLE live_process(Service *s) {
  if (!s->pid) return NULL;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE | SYNCHRONIZE, FALSE, s->pid);
  DWORD code = 0;
  if (h && creation_time(h) == s->started && GetExitCodeProcess(h, &code) && code == STILL_ACTIVE) return h;
  if (h) CloseHandle(h);
  return NULL;
}

/* A service whose process ended on its own is STOPPED, as the service manager would report it. */
static void refresh(Service *s) {
  if (strcmp(s->state, "STOPPED") == 0) return;
  HANDLE h = live_process(s);
  if (h) {
    CloseHandle(h);
    return;
  }
  s->exit_code = 1067;
  s->pid = 0;
  if (strcmp(s->state, "DELETE_PENDING") == 0) {
    memmove(s, s + 1, sizeof(Service) * (size_t)(&svcs[n_svcs] - s - 1));
    n_svcs--;
  } else {
    snprintf(s->state, sizeof s->state, "STOPPED");
  }
}

static Service *find(const char *name) {
  for (int i = 0; i < n_svcs; i++) {
    if (_stricmp(svcs[i].name, name) != 0) continue;
    refresh(&svcs[i]);
    return i < n_svcs && _stricmp(svcs[i].name, name) == 0 ? &svcs[i] : NULL;
  }
  return NULL;
}

static int failed(const char *function, int code, const char *message) {
  Buf b = {0};
  buf_printf(&b, "[SC] %s FAILED %d:\r\n\r\n%s\r\n\r\n", function, code, message);
  out_text(b.data);
  return code;
}

#define NO_SUCH_SERVICE "The specified service does not exist as an installed service."

static void status_block(Service *s, int state, const char *label, int with_pid) {
  int running = state == 4;
  unsigned exit_code = state == 1 ? s->exit_code : 0;
  Buf b = {0};
  buf_printf(&b, "\r\nSERVICE_NAME: %s \r\n", s->name);
  buf_printf(&b, "        TYPE               : 10  WIN32_OWN_PROCESS  \r\n");
  buf_printf(&b, "        STATE              : %d  %s \r\n", state, label);
  buf_printf(&b, "                                (%s)\r\n", running ? "STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN" : "NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN");
  buf_printf(&b, "        WIN32_EXIT_CODE    : %u  (0x%x)\r\n", exit_code, exit_code);
  buf_printf(&b, "        SERVICE_EXIT_CODE  : 0  (0x0)\r\n");
  buf_printf(&b, "        CHECKPOINT         : 0x0\r\n");
  buf_printf(&b, "        WAIT_HINT          : %s\r\n", state == 2 || state == 3 ? "0x7d0" : "0x0");
  if (with_pid) buf_printf(&b, "        PID                : %lu\r\n        FLAGS              : \r\n", s->pid);
  out_text(b.data);
}

static int usage(const char *what) {
  errf("fake sc.exe: unsupported or malformed: %s\r\n", what);
  return 1639; /* ERROR_INVALID_COMMAND_LINE */
}

static int create(int argc, char **argv) {
  if (argc < 3) return usage("create without a service name");
  Service *existing = find(argv[2]);
  if (existing && strcmp(existing->state, "DELETE_PENDING") == 0) return failed("CreateService", 1072, "The specified service has been marked for deletion.");
  if (existing) return failed("CreateService", 1073, "The specified service already exists.");
  if (n_svcs >= 64) return usage("more than 64 services");
  Service s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "%s", argv[2]);
  snprintf(s.state, sizeof s.state, "STOPPED");
  s.exit_code = 1077; /* ERROR_SERVICE_NEVER_STARTED */
  snprintf(s.start_type, sizeof s.start_type, "demand");
  snprintf(s.obj, sizeof s.obj, "LocalSystem");
  snprintf(s.display, sizeof s.display, "%s", argv[2]);
  for (int i = 3; i < argc; i += 2) {
    size_t len = strlen(argv[i]);
    if (len < 2 || argv[i][len - 1] != '=' || i + 1 >= argc) return usage(argv[i]);
    const char *v = argv[i + 1];
    if (_stricmp(argv[i], "binPath=") == 0) snprintf(s.bin, sizeof s.bin, "%s", v);
    else if (_stricmp(argv[i], "start=") == 0) snprintf(s.start_type, sizeof s.start_type, "%s", v);
    else if (_stricmp(argv[i], "obj=") == 0) snprintf(s.obj, sizeof s.obj, "%s", v);
    else if (_stricmp(argv[i], "DisplayName=") == 0) snprintf(s.display, sizeof s.display, "%s", v);
    else if (_stricmp(argv[i], "type=") != 0 || _stricmp(v, "own") != 0) return usage(argv[i]);
    if (strchr(v, '\t') || strchr(v, '\n')) return usage("a value with a tab or newline");
  }
  if (!s.bin[0]) return usage("create without binPath=");
  static const char *starts[] = {"boot", "system", "auto", "demand", "disabled", "delayed-auto"};
  int known = 0;
  for (int i = 0; i < 6; i++) known |= _stricmp(s.start_type, starts[i]) == 0;
  if (!known) return usage(s.start_type);
  svcs[n_svcs++] = s;
  save();
  out_text("[SC] CreateService SUCCESS\r\n");
  return 0;
}

static int start(Service *s) {
  if (!s) return failed("StartService: OpenService", 1060, NO_SUCH_SERVICE);
  if (strcmp(s->state, "DELETE_PENDING") == 0) return failed("StartService", 1072, "The specified service has been marked for deletion.");
  if (strcmp(s->state, "RUNNING") == 0) return failed("StartService", 1056, "An instance of the service is already running.");
  char *strict = env_utf8("MKT_FAKE_SC_STRICT");
  if (strict && strcmp(strict, "1") == 0) return failed("StartService", 1053, "The service did not respond to the start or control request in a timely fashion.");
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  wchar_t *cmd = utf8_to_wide(s->bin);
  if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) {
    unsigned long code = GetLastError();
    return failed("StartService", code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND ? 2 : (int)code, "The system cannot find the file specified.");
  }
  free(cmd);
  s->pid = pi.dwProcessId;
  s->started = creation_time(pi.hProcess);
  s->exit_code = 0;
  snprintf(s->state, sizeof s->state, "RUNNING");
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  save();
  status_block(s, 2, "START_PENDING", 1);
  return 0;
}

static int stop(Service *s) {
  if (!s) return failed("OpenService", 1060, NO_SUCH_SERVICE);
  if (strcmp(s->state, "STOPPED") == 0) return failed("ControlService", 1062, "The service has not been started.");
  HANDLE h = live_process(s);
  if (h) {
    TerminateProcess(h, 0);
    WaitForSingleObject(h, 10000);
    CloseHandle(h);
  }
  status_block(s, 3, "STOP_PENDING", 0);
  s->pid = 0;
  if (strcmp(s->state, "DELETE_PENDING") == 0) {
    memmove(s, s + 1, sizeof(Service) * (size_t)(&svcs[n_svcs] - s - 1));
    n_svcs--;
  } else {
    snprintf(s->state, sizeof s->state, "STOPPED");
  }
  save();
  return 0;
}

static int delete(Service *s) {
  if (!s) return failed("OpenService", 1060, NO_SUCH_SERVICE);
  if (strcmp(s->state, "DELETE_PENDING") == 0) return failed("DeleteService", 1072, "The specified service has been marked for deletion.");
  if (strcmp(s->state, "RUNNING") == 0) {
    snprintf(s->state, sizeof s->state, "DELETE_PENDING");
  } else {
    memmove(s, s + 1, sizeof(Service) * (size_t)(&svcs[n_svcs] - s - 1));
    n_svcs--;
  }
  save();
  out_text("[SC] DeleteService SUCCESS\r\n");
  return 0;
}

int main(void) {
  int argc;
  char **argv = utf8_argv(&argc);
  if (argc >= 2 && argv[1][0] == '\\' && argv[1][1] == '\\') return usage("a remote \\\\server");
  if (argc < 2) return usage("sc without a command (the real one prints its help)");
  state = state_path("MKT_FAKE_SC_STATE", "sc-state.txt");
  HANDLE lock = lock_state(state);
  load();
  const char *command = argv[1];
  Service *s = argc >= 3 ? find(argv[2]) : NULL;
  int code;
  if (_stricmp(command, "create") == 0) code = create(argc, argv);
  else if (argc != 3) code = usage(command);
  else if (_stricmp(command, "start") == 0) code = start(s);
  else if (_stricmp(command, "stop") == 0) code = stop(s);
  else if (_stricmp(command, "delete") == 0) code = delete(s);
  else if (_stricmp(command, "query") == 0) {
    if (!s) code = failed("EnumQueryServicesStatus:OpenService", 1060, NO_SUCH_SERVICE);
    else {
      int running = strcmp(s->state, "STOPPED") != 0;
      status_block(s, running ? 4 : 1, running ? "RUNNING" : "STOPPED", 0);
      code = 0;
    }
  } else code = usage(command);
  // A query that noticed a dead process records it.
  if (code != 1639 && _stricmp(command, "create") != 0) save();
  CloseHandle(lock);
  return code;
}
