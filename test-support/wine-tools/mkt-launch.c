/*
 * Lab plumbing, not a fake: `mkt-launch.exe <code file> <program> [args…]`
 * runs the program with this process's standard handles and writes its
 * whole exit code to <code file>. wine64 passes only the low 8 bits of a
 * Windows exit code to Linux, and sc.exe's codes (1060, 1062, 1073) need
 * all of them.
 *
 * The arguments are re-quoted by the rules the Microsoft C runtime parses
 * with (learn.microsoft.com, "Parsing C command-line arguments"), so the
 * program sees the argv it was given.
 */
#include "fake-common.h"

static void quote(Buf *b, const char *arg) {
  if (*arg && !strpbrk(arg, " \t\n\v\"")) {
    buf_add(b, arg, strlen(arg));
    return;
  }
  buf_add(b, "\"", 1);
  for (const char *p = arg;; p++) {
    size_t slashes = 0;
    while (*p == '\\') p++, slashes++;
    // Backslashes are literal unless they precede a quote (escaped) or the closing quote (doubled).
    size_t times = *p == 0 ? slashes * 2 : *p == '"' ? slashes * 2 + 1 : slashes;
    for (size_t i = 0; i < times; i++) buf_add(b, "\\", 1);
    if (*p == 0) break;
    buf_add(b, p, 1);
  }
  buf_add(b, "\"", 1);
}

static HANDLE inheritable(DWORD which) {
  HANDLE h = GetStdHandle(which);
  if (h && h != INVALID_HANDLE_VALUE) SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  return h;
}

int main(void) {
  int argc;
  char **argv = utf8_argv(&argc);
  if (argc < 3) {
    err_text("usage: mkt-launch.exe <code file> <program> [args...]\r\n");
    return 2;
  }
  Buf cmd = {0};
  for (int i = 2; i < argc; i++) {
    if (i > 2) buf_add(&cmd, " ", 1);
    quote(&cmd, argv[i]);
  }
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = inheritable(STD_INPUT_HANDLE);
  si.hStdOutput = inheritable(STD_OUTPUT_HANDLE);
  si.hStdError = inheritable(STD_ERROR_HANDLE);
  wchar_t *wcmd = utf8_to_wide(cmd.data);
  DWORD code;
  char text[64];
  // "not started" is told apart from any exit code, so the lab can say which program was missing.
  if (!CreateProcessW(NULL, wcmd, NULL, NULL, TRUE, CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) {
    code = GetLastError();
    snprintf(text, sizeof text, "not started: Windows error %lu\r\n", code);
    write_file_utf8(argv[1], text);
    return 2;
  }
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  snprintf(text, sizeof text, "%lu\r\n", code);
  write_file_utf8(argv[1], text);
  return (int)(code & 0xff);
}
