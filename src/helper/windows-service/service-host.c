/*
 * mktunnel-helper-service.exe: the Windows service program of the installed
 * helper (docs/architecture.md, "The installed helper").
 *
 * The Service Control Manager starts only programs that speak its protocol:
 * node.exe does not, and a service whose binPath is node.exe fails with
 * error 1053 after 30 s. So the service runs this host:
 *
 *   mktunnel-helper-service.exe --log <file> [--stop-timeout <s>] -- <node.exe> <helper-main.mjs> <args...>
 *
 * It connects to the SCM (StartServiceCtrlDispatcherW), reports
 * START_PENDING, starts the helper in a job object that ends it (and all it
 * started) when the host goes, with its stdout and stderr appended to the
 * log (a service has no console, and nothing else would keep its lines), and
 * reports RUNNING. Node on Windows gets no SIGTERM (process.kill is
 * TerminateProcess there) and no console event without a console shared
 * with the host, so the stop request is the end of the helper's stdin: a
 * pipe only the host holds. On STOP, SHUTDOWN or PRESHUTDOWN the host closes
 * it, the helper (`--stop-on-stdin-close`) takes back every client's routes
 * and names and exits, and the host reports STOPPED; one that has not ended
 * within the stop timeout is ended with its job. A helper that exits by
 * itself stops the service with its exit code as the service-specific code,
 * which with `sc failureflag` set lets the SCM's recovery restart it.
 *
 * Started from a console instead of by the SCM, it runs the same way until
 * Ctrl+C (or until the process is ended, when the job takes the helper too).
 */
#include "command-line.h"
#include "root-folder.h"

#include <shellapi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static HostOptions options;
static const wchar_t *options_error;
static HANDLE stop_requested;
/* Set once run_helper is over: a console close waits for it (the console ends the process when its handler returns). */
static HANDLE finished;
static HANDLE log_file = INVALID_HANDLE_VALUE;
static int as_service = 1;

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
/* The control handler (on the dispatcher's thread) and service_main (on its own) both report status. */
static CRITICAL_SECTION status_lock;

/* One line, in UTF-8 like the helper's own: to the log, and to stderr when run from a console. */
static void log_line(const wchar_t *format, ...) {
  wchar_t text[2048];
  SYSTEMTIME now;
  GetSystemTime(&now);
  int n = swprintf(text, 2048, L"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ mktunnel-helper-service: ", now.wYear,
                   now.wMonth, now.wDay, now.wHour, now.wMinute, now.wSecond, now.wMilliseconds);
  va_list ap;
  va_start(ap, format);
  int m = vswprintf(text + n, 2048 - n - 2, format, ap);
  va_end(ap);
  if (m < 0) m = (int)wcslen(text + n);
  wcscpy(text + n + m, L"\n");
  char utf8[6144];
  int bytes = WideCharToMultiByte(CP_UTF8, 0, text, -1, utf8, sizeof utf8, NULL, NULL);
  DWORD written;
  if (bytes > 1 && log_file != INVALID_HANDLE_VALUE) WriteFile(log_file, utf8, (DWORD)bytes - 1, &written, NULL);
  if (bytes > 1 && !as_service) WriteFile(GetStdHandle(STD_ERROR_HANDLE), utf8, (DWORD)bytes - 1, &written, NULL);
}

static void report(DWORD state, DWORD win32_exit, DWORD specific_exit, DWORD wait_hint_ms) {
  static int stopped;
  if (!as_service) return;
  EnterCriticalSection(&status_lock);
  /* After STOPPED the SCM may end the process at any time; a late STOP_PENDING from the handler must not follow it. */
  if (!stopped) {
    int pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwCurrentState = state;
    status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN : 0;
    status.dwWin32ExitCode = win32_exit;
    status.dwServiceSpecificExitCode = specific_exit;
    status.dwCheckPoint = pending ? status.dwCheckPoint + 1 : 0;
    status.dwWaitHint = pending ? wait_hint_ms : 0;
    stopped = state == SERVICE_STOPPED;
    SetServiceStatus(status_handle, &status);
  }
  LeaveCriticalSection(&status_lock);
}

static DWORD WINAPI control(DWORD code, DWORD type, void *data, void *context) {
  (void)type, (void)data, (void)context;
  switch (code) {
  case SERVICE_CONTROL_STOP:
  case SERVICE_CONTROL_SHUTDOWN:
  case SERVICE_CONTROL_PRESHUTDOWN:
    report(SERVICE_STOP_PENDING, NO_ERROR, 0, 5000);
    SetEvent(stop_requested);
    return NO_ERROR;
  case SERVICE_CONTROL_INTERROGATE:
    return NO_ERROR;
  default:
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

static BOOL WINAPI console_control(DWORD type) {
  SetEvent(stop_requested);
  /* Closing the console, logging off or shutting down ends the process when this returns: let the stop finish first. */
  if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
    WaitForSingleObject(finished, (options.stop_timeout_s + 5) * 1000);
  return TRUE;
}

/*
 * Closing its stdin is the helper's stop request; then it has the stop timeout to take back what its clients set.
 * STOP_PENDING is reported each second meanwhile, so the SCM sees the stop progress.
 */
static void stop_helper(HANDLE process, HANDLE stdin_write, HANDLE job) {
  log_line(L"stop requested: closing the helper's stdin and waiting up to %u s for it to take back what its "
           L"clients set",
           options.stop_timeout_s);
  CloseHandle(stdin_write);
  ULONGLONG deadline = GetTickCount64() + options.stop_timeout_s * 1000ull;
  for (;;) {
    ULONGLONG now = GetTickCount64();
    DWORD slice = now >= deadline ? 0 : (DWORD)(deadline - now < 1000 ? deadline - now : 1000);
    if (WaitForSingleObject(process, slice) == WAIT_OBJECT_0) {
      DWORD code = 0;
      GetExitCodeProcess(process, &code);
      log_line(L"the helper stopped with code %lu", code);
      return;
    }
    if (now >= deadline) break;
    report(SERVICE_STOP_PENDING, NO_ERROR, 0, 3000);
  }
  log_line(L"the helper did not stop within %u s: ending it and everything it started", options.stop_timeout_s);
  TerminateJobObject(job, ERROR_TIMEOUT);
  WaitForSingleObject(process, 5000);
}

/*
 * Starts the helper and waits for a stop request or its end. Answers the Win32 exit code for the SCM, with the helper's
 * own code in *specific when it is ERROR_SERVICE_SPECIFIC_ERROR.
 */
static DWORD run_helper(DWORD *specific) {
  wchar_t why[1024];
  DWORD error = 0;
  *specific = 0;
  log_file = open_root_log(options.log, why, 1024, &error);
  if (log_file == INVALID_HANDLE_VALUE) {
    if (!as_service) fwprintf(stderr, L"mktunnel-helper-service: %ls\n", why);
    return error;
  }
  wchar_t *command = windows_command_line(options.child_argc, options.child_argv);
  if (!command) {
    log_line(L"cannot start %ls: the command line is longer than Windows allows, or the program's path holds a quote",
             options.child_argv[0]);
    return ERROR_INVALID_PARAMETER;
  }
  /* Everything the helper starts (route.exe, powershell.exe) joins its job, and goes with the host. */
  HANDLE job = CreateJobObjectW(NULL, NULL);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
  memset(&limits, 0, sizeof limits);
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!job || !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
    error = GetLastError();
    log_line(L"cannot make a job object for the helper (Windows error %lu)", error);
    return error;
  }
  /*
   * Only the two ends the helper gets are inheritable, and only while it is created: the write end of its stdin stays
   * the host's alone, or the helper would hold it open itself and never see the end of its input.
   */
  HANDLE stdin_read = NULL, stdin_write = NULL, child_log = NULL;
  if (!CreatePipe(&stdin_read, &stdin_write, NULL, 0) ||
      !SetHandleInformation(stdin_read, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) ||
      !DuplicateHandle(GetCurrentProcess(), log_file, GetCurrentProcess(), &child_log, 0, TRUE,
                       DUPLICATE_SAME_ACCESS)) {
    error = GetLastError();
    log_line(L"cannot make the helper's standard handles (Windows error %lu)", error);
    return error;
  }
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = stdin_read;
  si.hStdOutput = child_log;
  si.hStdError = child_log;
  /*
   * The program by its full path (nothing searched for). Suspended until it is in the job, so nothing it starts can
   * escape. CREATE_NO_WINDOW: a hidden console of its own, which its console children share, and not the host's, so
   * a Ctrl+C at the host's console reaches the host, which stops it the one way.
   */
  BOOL started = CreateProcessW(options.child_argv[0], command, NULL, NULL, TRUE,
                                CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi);
  error = started ? 0 : GetLastError();
  CloseHandle(stdin_read);
  CloseHandle(child_log);
  if (!started) {
    log_line(L"cannot start %ls (Windows error %lu)", options.child_argv[0], error);
    free(command);
    return error;
  }
  if (!AssignProcessToJobObject(job, pi.hProcess)) {
    error = GetLastError();
    TerminateProcess(pi.hProcess, error);
    log_line(L"cannot put the helper in its job object (Windows error %lu); not running it", error);
    free(command);
    return error;
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  log_line(L"started the helper, pid %lu: %ls", pi.dwProcessId, command);
  free(command);
  report(SERVICE_RUNNING, NO_ERROR, 0, 0);

  HANDLE waits[2] = {stop_requested, pi.hProcess};
  DWORD result = NO_ERROR;
  if (WaitForMultipleObjects(2, waits, FALSE, INFINITE) == WAIT_OBJECT_0 + 1) {
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    log_line(L"the helper exited by itself with code %lu", code);
    CloseHandle(stdin_write);
    *specific = code;
    result = code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  } else {
    stop_helper(pi.hProcess, stdin_write, job);
  }
  CloseHandle(pi.hProcess);
  /* Ends whatever the helper left running (a route.exe it was waiting for, say). */
  CloseHandle(job);
  return result;
}

static void WINAPI service_main(DWORD argc, wchar_t **argv) {
  status_handle = RegisterServiceCtrlHandlerExW(argc > 0 ? argv[0] : L"", control, NULL);
  if (!status_handle) return;
  if (options_error) {
    report(SERVICE_STOPPED, ERROR_INVALID_PARAMETER, 0, 0);
    return;
  }
  report(SERVICE_START_PENDING, NO_ERROR, 0, 5000);
  DWORD specific = 0;
  DWORD code = run_helper(&specific);
  log_line(L"service stopped (exit code %lu, service-specific %lu)", code, specific);
  report(SERVICE_STOPPED, code, specific, 0);
}

int main(void) {
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  options_error = argv ? parse_host_options(argc, argv, &options) : L"the command line cannot be read";
  stop_requested = CreateEventW(NULL, TRUE, FALSE, NULL);
  finished = CreateEventW(NULL, TRUE, FALSE, NULL);
  InitializeCriticalSection(&status_lock);
  /* For a service of its own process the SCM ignores the name here (StartServiceCtrlDispatcherW), but it cannot be NULL. */
  static wchar_t any_name[] = L"";
  SERVICE_TABLE_ENTRYW table[] = {{any_name, service_main}, {NULL, NULL}};
  if (StartServiceCtrlDispatcherW(table)) return 0;
  DWORD error = GetLastError();
  if (error != ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) return (int)error;

  /* Not started by the SCM: run in the foreground, stopped by Ctrl+C. */
  as_service = 0;
  if (options_error) {
    fwprintf(stderr, L"mktunnel-helper-service: %ls\n", options_error);
    return ERROR_INVALID_PARAMETER;
  }
  SetConsoleCtrlHandler(console_control, TRUE);
  DWORD specific = 0;
  DWORD code = run_helper(&specific);
  SetEvent(finished);
  return (int)(code == ERROR_SERVICE_SPECIFIC_ERROR ? specific : code);
}
