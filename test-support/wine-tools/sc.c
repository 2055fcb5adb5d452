/*
 * A fake sc.exe for the Wine lab: create, start, stop, delete and query,
 * carried out by Wine's own service control manager (services.exe), so a
 * service runs as one: started by the SCM, speaking the service protocol
 * (StartServiceCtrlDispatcher), stopped by SERVICE_CONTROL_STOP. Wine's own
 * sc.exe does the same work but answers 1 for every failure and prints
 * little; this one prints and exits as the real one does.
 *
 * Follows the documented tool: Microsoft's sc.exe reference
 * (learn.microsoft.com, Windows Commands: sc create, sc start, sc stop,
 * sc delete, sc query): options are written `name= value`, the value being
 * the next argument; results and failures go to stdout as
 * "[SC] <Function> SUCCESS" / "[SC] <Function> FAILED <code>:" followed by
 * the system message for the code, and the exit code is that Win32 error
 * (1060 ERROR_SERVICE_DOES_NOT_EXIST, 1062 ERROR_SERVICE_NOT_ACTIVE,
 * 1073 ERROR_SERVICE_EXISTS, 1056 ERROR_SERVICE_ALREADY_RUNNING,
 * 1072 ERROR_SERVICE_MARKED_FOR_DELETE, 1053 ERROR_SERVICE_REQUEST_TIMEOUT,
 * 1061 ERROR_SERVICE_CANNOT_ACCEPT_CTRL, as the SCM answers them). `start`,
 * `stop` and `query` print the SERVICE_STATUS block of the documented
 * layout: `stop` returns at once with the state the service reported
 * (STOP_PENDING while it takes back its work), as the real one does.
 *
 * For the tests, the services created here are listed in a state file
 * (MKT_FAKE_SC_STATE, else sc-state.txt beside the exe), one line each:
 * name TAB start-type TAB account TAB display name TAB binPath; `delete`
 * takes the line out.
 */
#include "fake-common.h"

typedef struct {
  char name[256], start_type[32], obj[256], display[256], bin[4096];
} Service;

static Service svcs[64];
static int n_svcs;
static char *state;

static void load(void) {
  char *text = read_file_utf8(state), **lines;
  int n = split_lines(text ? text : _strdup(""), &lines);
  for (int i = 0; i < n && n_svcs < 64; i++) {
    if (!lines[i][0]) continue;
    char *f[5] = {lines[i]};
    for (int k = 1; k < 5 && f[k - 1]; k++) {
      char *tab = strchr(f[k - 1], '\t');
      if (tab) *tab = 0, f[k] = tab + 1;
    }
    if (!f[4]) {
      errf("fake sc.exe: unreadable state line %d in %s\r\n", i + 1, state);
      ExitProcess(2);
    }
    Service *s = &svcs[n_svcs++];
    snprintf(s->name, sizeof s->name, "%s", f[0]);
    snprintf(s->start_type, sizeof s->start_type, "%s", f[1]);
    snprintf(s->obj, sizeof s->obj, "%s", f[2]);
    snprintf(s->display, sizeof s->display, "%s", f[3]);
    snprintf(s->bin, sizeof s->bin, "%s", f[4]);
  }
}

static void save(void) {
  Buf b = {0};
  buf_add(&b, "", 0);
  for (int i = 0; i < n_svcs; i++) {
    Service *s = &svcs[i];
    buf_printf(&b, "%s\t%s\t%s\t%s\t", s->name, s->start_type, s->obj, s->display);
    buf_add(&b, s->bin, strlen(s->bin));
    buf_add(&b, "\n", 1);
  }
  write_file_utf8(state, b.data);
}

static void forget(const char *name) {
  for (int i = 0; i < n_svcs; i++)
    if (_stricmp(svcs[i].name, name) == 0) {
      memmove(&svcs[i], &svcs[i + 1], sizeof(Service) * (size_t)(n_svcs - i - 1));
      n_svcs--;
      return;
    }
}

/*
 * The system message for a Win32 error, as sc prints it under the FAILED line: Windows' (English) text for the
 * service manager's errors, which Wine words its own way; the system's for any other.
 */
static int failed(const char *function, DWORD code) {
  static const struct {
    DWORD code;
    const char *text;
  } known[] = {
      {2, "The system cannot find the file specified."},
      {5, "Access is denied."},
      {1053, "The service did not respond to the start or control request in a timely fashion."},
      {1056, "An instance of the service is already running."},
      {1060, "The specified service does not exist as an installed service."},
      {1061, "The service cannot accept control messages at this time."},
      {1062, "The service has not been started."},
      {1072, "The specified service has been marked for deletion."},
      {1073, "The specified service already exists."},
  };
  char message[512] = "";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i].code == code) snprintf(message, sizeof message, "%s", known[i].text);
  if (!message[0] && !FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, message, sizeof message, NULL))
    snprintf(message, sizeof message, "Windows error %lu.", code);
  size_t len = strlen(message);
  while (len > 0 && (message[len - 1] == '\r' || message[len - 1] == '\n')) message[--len] = 0;
  Buf b = {0};
  buf_printf(&b, "[SC] %s FAILED %lu:\r\n\r\n%s\r\n\r\n", function, code, message);
  out_text(b.data);
  return (int)code;
}

static const char *state_label(DWORD state) {
  static const char *labels[] = {"STOPPED", "START_PENDING", "STOP_PENDING", "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING", "PAUSED"};
  return state >= 1 && state <= 7 ? labels[state - 1] : "UNKNOWN";
}

static void status_block(const char *name, const SERVICE_STATUS_PROCESS *st, int with_pid) {
  DWORD accepted = st->dwControlsAccepted;
  Buf b = {0};
  buf_printf(&b, "\r\nSERVICE_NAME: %s \r\n", name);
  buf_printf(&b, "        TYPE               : %lx  WIN32_OWN_PROCESS  \r\n", st->dwServiceType);
  buf_printf(&b, "        STATE              : %lu  %s \r\n", st->dwCurrentState, state_label(st->dwCurrentState));
  buf_printf(&b, "                                (%s, %s, %s)\r\n", accepted & SERVICE_ACCEPT_STOP ? "STOPPABLE" : "NOT_STOPPABLE",
             accepted & SERVICE_ACCEPT_PAUSE_CONTINUE ? "PAUSABLE" : "NOT_PAUSABLE",
             accepted & SERVICE_ACCEPT_SHUTDOWN ? "ACCEPTS_SHUTDOWN" : "IGNORES_SHUTDOWN");
  buf_printf(&b, "        WIN32_EXIT_CODE    : %lu  (0x%lx)\r\n", st->dwWin32ExitCode, st->dwWin32ExitCode);
  buf_printf(&b, "        SERVICE_EXIT_CODE  : %lu  (0x%lx)\r\n", st->dwServiceSpecificExitCode, st->dwServiceSpecificExitCode);
  buf_printf(&b, "        CHECKPOINT         : 0x%lx\r\n", st->dwCheckPoint);
  buf_printf(&b, "        WAIT_HINT          : 0x%lx\r\n", st->dwWaitHint);
  if (with_pid) buf_printf(&b, "        PID                : %lu\r\n        FLAGS              : \r\n", st->dwProcessId);
  out_text(b.data);
}

static int usage(const char *what) {
  errf("fake sc.exe: unsupported or malformed: %s\r\n", what);
  return 1639; /* ERROR_INVALID_COMMAND_LINE */
}

static SC_HANDLE scm;

static int create(int argc, char **argv) {
  if (argc < 3) return usage("create without a service name");
  if (n_svcs >= 64) return usage("more than 64 services");
  Service s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "%s", argv[2]);
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
  static const DWORD codes[] = {SERVICE_BOOT_START, SERVICE_SYSTEM_START, SERVICE_AUTO_START, SERVICE_DEMAND_START, SERVICE_DISABLED, SERVICE_AUTO_START};
  int start = -1;
  for (int i = 0; i < 6; i++)
    if (_stricmp(s.start_type, starts[i]) == 0) start = i;
  if (start < 0) return usage(s.start_type);
  wchar_t *name = utf8_to_wide(s.name), *display = utf8_to_wide(s.display), *bin = utf8_to_wide(s.bin);
  wchar_t *obj = _stricmp(s.obj, "LocalSystem") == 0 ? NULL : utf8_to_wide(s.obj);
  SC_HANDLE h = CreateServiceW(scm, name, display, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS, codes[start], SERVICE_ERROR_NORMAL, bin, NULL, NULL, NULL, obj, NULL);
  if (!h) return failed("CreateService", GetLastError());
  CloseServiceHandle(h);
  forget(s.name);
  svcs[n_svcs++] = s;
  save();
  out_text("[SC] CreateService SUCCESS\r\n");
  return 0;
}

static int query_into(SC_HANDLE h, SERVICE_STATUS_PROCESS *st) {
  DWORD needed;
  return QueryServiceStatusEx(h, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof *st, &needed);
}

static int control(const char *command, const char *name_utf8) {
  wchar_t *name = utf8_to_wide(name_utf8);
  SC_HANDLE h = OpenServiceW(scm, name, SERVICE_ALL_ACCESS);
  free(name);
  SERVICE_STATUS_PROCESS st;
  memset(&st, 0, sizeof st);
  if (_stricmp(command, "query") == 0) {
    if (!h) return failed("EnumQueryServicesStatus:OpenService", GetLastError());
    if (!query_into(h, &st)) return failed("QueryServiceStatusEx", GetLastError());
    status_block(name_utf8, &st, 0);
  } else if (_stricmp(command, "start") == 0) {
    if (!h) return failed("StartService: OpenService", GetLastError());
    if (!StartServiceW(h, 0, NULL)) return failed("StartService", GetLastError());
    query_into(h, &st);
    status_block(name_utf8, &st, 1);
  } else if (_stricmp(command, "stop") == 0) {
    if (!h) return failed("OpenService", GetLastError());
    SERVICE_STATUS plain;
    if (!ControlService(h, SERVICE_CONTROL_STOP, &plain)) return failed("ControlService", GetLastError());
    query_into(h, &st);
    status_block(name_utf8, &st, 0);
  } else {
    if (!h) return failed("OpenService", GetLastError());
    if (!DeleteService(h)) return failed("DeleteService", GetLastError());
    forget(name_utf8);
    save();
    out_text("[SC] DeleteService SUCCESS\r\n");
  }
  CloseServiceHandle(h);
  return 0;
}

int main(void) {
  int argc;
  char **argv = utf8_argv(&argc);
  if (argc >= 2 && argv[1][0] == '\\' && argv[1][1] == '\\') return usage("a remote \\\\server");
  if (argc < 2) return usage("sc without a command (the real one prints its help)");
  const char *command = argv[1];
  int known = 0;
  for (const char *const *c = (const char *const[]){"create", "start", "stop", "delete", "query", NULL}; *c; c++) known |= _stricmp(command, *c) == 0;
  if (!known) return usage(command);
  if (_stricmp(command, "create") != 0 && argc != 3) return usage(command);
  scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
  if (!scm) return failed("OpenSCManager", GetLastError());
  state = state_path("MKT_FAKE_SC_STATE", "sc-state.txt");
  HANDLE lock = lock_state(state);
  load();
  int code = _stricmp(command, "create") == 0 ? create(argc, argv) : control(command, argv[2]);
  CloseHandle(lock);
  CloseServiceHandle(scm);
  return code;
}
