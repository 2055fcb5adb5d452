/*
 * The service host's C parts (src/helper/windows-service: command-line.c,
 * root-folder.c) run one at a time under Wine, for
 * test-support/wine-service-host.integration.test.ts. Built by
 * scripts/windows-service-host.ts with the host's own flags, linked against
 * the same objects; only main differs. Its arguments are read as the host
 * reads its own (CommandLineToArgvW), and each mode prints one JSON object:
 *
 *   options <arg...>        parse_host_options on [host, arg...]
 *   command-line <arg...>   windows_command_line of the arguments
 *   long <n>                windows_command_line of C:\x.exe and n letters
 *   run <program> <arg...>  the program started with windows_command_line,
 *                           as the host starts the helper; its exit code
 *   sddl <sddl> <self|->    root_only_problem of that descriptor
 *   parent <sddl> <self|->  parent_problem of that descriptor
 *   inside <folder> <file>  path_is_inside
 *   log <path>              open_root_log, then one line appended
 */
#include "../../src/helper/windows-service/command-line.h"
#include "../../src/helper/windows-service/root-folder.h"

#include <sddl.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>

static wchar_t out[1 << 17];
static size_t out_len;

static void put(const wchar_t *s) {
  for (; *s && out_len + 1 < sizeof out / sizeof *out; s++) out[out_len++] = *s;
  out[out_len] = 0;
}

/* A JSON string (or null), escaping what JSON requires. */
static void put_json(const wchar_t *s) {
  if (!s) {
    put(L"null");
    return;
  }
  put(L"\"");
  for (; *s; s++) {
    wchar_t one[8] = {*s, 0};
    if (*s == L'"' || *s == L'\\') swprintf(one, 8, L"\\%lc", *s);
    else if (*s < 0x20) swprintf(one, 8, L"\\u%04x", (unsigned)*s);
    put(one);
  }
  put(L"\"");
}

static int finish(int code) {
  put(L"\n");
  char *utf8 = malloc(out_len * 4 + 1);
  int bytes = WideCharToMultiByte(CP_UTF8, 0, out, -1, utf8, (int)out_len * 4 + 1, NULL, NULL);
  DWORD written;
  if (bytes > 1) WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), utf8, (DWORD)bytes - 1, &written, NULL);
  free(utf8);
  return code;
}

static int options(int argc, wchar_t **argv) {
  HostOptions o;
  /* argv[1] ("options") stands where the host's own name would be. */
  const wchar_t *error = parse_host_options(argc - 1, argv + 1, &o);
  if (error) {
    put(L"{\"error\":");
    put_json(error);
    put(L"}");
    return finish(0);
  }
  wchar_t number[16];
  swprintf(number, 16, L"%u", o.stop_timeout_s);
  put(L"{\"log\":");
  put_json(o.log);
  put(L",\"stopTimeout\":");
  put(number);
  put(L",\"child\":[");
  for (int i = 0; i < o.child_argc; i++) {
    if (i) put(L",");
    put_json(o.child_argv[i]);
  }
  put(L"]}");
  return finish(0);
}

static int command_line(int argc, wchar_t **argv) {
  wchar_t *line = windows_command_line(argc, argv);
  put(L"{\"line\":");
  put_json(line);
  put(L"}");
  free(line);
  return finish(0);
}

static int long_line(const wchar_t *count) {
  size_t n = wcstoul(count, NULL, 10);
  wchar_t *arg = malloc(sizeof(wchar_t) * (n + 1));
  for (size_t i = 0; i < n; i++) arg[i] = L'a';
  arg[n] = 0;
  wchar_t *argv[] = {L"C:\\x.exe", arg};
  wchar_t *line = windows_command_line(2, argv);
  wchar_t length[32];
  swprintf(length, 32, L"%zu", line ? wcslen(line) : 0);
  put(L"{\"length\":");
  put(line ? length : L"null");
  put(L"}");
  free(line);
  free(arg);
  return finish(0);
}

static int run(int argc, wchar_t **argv) {
  wchar_t *line = windows_command_line(argc, argv);
  if (!line) {
    put(L"{\"error\":\"no command line\"}");
    return finish(1);
  }
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessW(argv[0], line, NULL, NULL, FALSE, CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) {
    wchar_t text[64];
    swprintf(text, 64, L"{\"error\":\"CreateProcessW failed: %lu\"}", GetLastError());
    put(text);
    return finish(1);
  }
  DWORD code = 0;
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &code);
  wchar_t text[64];
  swprintf(text, 64, L"{\"exitCode\":%lu}", code);
  put(text);
  free(line);
  return finish(0);
}

static int sddl(const wchar_t *text, const wchar_t *self_text,
                const wchar_t *(*judge)(PSECURITY_DESCRIPTOR, PSID, wchar_t *, size_t)) {
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID self = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(text, SDDL_REVISION_1, &sd, NULL) ||
      (wcscmp(self_text, L"-") != 0 && !ConvertStringSidToSidW(self_text, &self))) {
    wchar_t error[64];
    swprintf(error, 64, L"{\"error\":\"unreadable (Windows error %lu)\"}", GetLastError());
    put(error);
    return finish(1);
  }
  wchar_t why[400];
  put(L"{\"problem\":");
  put_json(judge(sd, self, why, 400));
  put(L"}");
  LocalFree(sd);
  if (self) LocalFree(self);
  return finish(0);
}

static int inside(const wchar_t *folder, const wchar_t *file) {
  put(path_is_inside(folder, file) ? L"{\"inside\":true}" : L"{\"inside\":false}");
  return finish(0);
}

static int log_check(const wchar_t *path) {
  wchar_t why[1024] = L"";
  DWORD error = 0;
  HANDLE log = open_root_log(path, why, 1024, &error);
  if (log == INVALID_HANDLE_VALUE) {
    wchar_t code[32];
    swprintf(code, 32, L"%lu", error);
    put(L"{\"error\":");
    put_json(why);
    put(L",\"code\":");
    put(code);
    put(L"}");
    return finish(0);
  }
  DWORD written;
  WriteFile(log, "host-check\n", 11, &written, NULL);
  CloseHandle(log);
  put(L"{\"ok\":true}");
  return finish(0);
}

int main(void) {
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (!argv || argc < 2) return 2;
  const wchar_t *mode = argv[1];
  if (wcscmp(mode, L"options") == 0) return options(argc, argv);
  if (wcscmp(mode, L"command-line") == 0) return command_line(argc - 2, argv + 2);
  if (wcscmp(mode, L"long") == 0 && argc == 3) return long_line(argv[2]);
  if (wcscmp(mode, L"run") == 0 && argc >= 3) return run(argc - 2, argv + 2);
  if (wcscmp(mode, L"sddl") == 0 && argc == 4) return sddl(argv[2], argv[3], root_only_problem);
  if (wcscmp(mode, L"parent") == 0 && argc == 4) return sddl(argv[2], argv[3], parent_problem);
  if (wcscmp(mode, L"inside") == 0 && argc == 4) return inside(argv[2], argv[3]);
  if (wcscmp(mode, L"log") == 0 && argc == 3) return log_check(argv[2]);
  return 2;
}
