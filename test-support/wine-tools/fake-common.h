/*
 * Shared by the fake Windows tools (route.exe, powershell.exe, sc.exe) that
 * test-support/wine-lab.ts cross-compiles with x86_64-w64-mingw32-gcc and
 * runs under Wine. Each tool keeps its state in a UTF-8 text file the tests
 * can read and write from Linux.
 */
#ifndef MKT_FAKE_COMMON_H
#define MKT_FAKE_COMMON_H

#define WIN32_LEAN_AND_MEAN
#define _WIN32_WINNT 0x0A00
#include <windows.h>
#include <shellapi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text is built as UTF-8 and converted once, on the way out. */
typedef struct {
  char *data;
  size_t len, cap;
} Buf;

static inline void buf_add(Buf *b, const char *text, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, text, n);
  b->len += n;
  b->data[b->len] = 0;
}

static inline void buf_printf(Buf *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static inline wchar_t *utf8_to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = malloc(sizeof(wchar_t) * (n > 0 ? n : 1));
  if (n <= 0) w[0] = 0;
  else MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

static inline char *wide_to_cp(const wchar_t *w, UINT cp) {
  int n = WideCharToMultiByte(cp, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = malloc(n > 0 ? n : 1);
  if (n <= 0) s[0] = 0;
  else WideCharToMultiByte(cp, 0, w, -1, s, n, NULL, NULL);
  return s;
}

/*
 * Console programs write to a console in UTF-16 and, redirected to a file or
 * pipe, in the console's output code page (the OEM one unless chcp changed
 * it), which is what a parent reading a pipe gets from route.exe and sc.exe.
 */
static inline void emit(DWORD which, const char *utf8) {
  HANDLE h = GetStdHandle(which);
  DWORD mode, written;
  if (h == NULL || h == INVALID_HANDLE_VALUE) return;
  wchar_t *w = utf8_to_wide(utf8);
  if (GetConsoleMode(h, &mode)) {
    WriteConsoleW(h, w, (DWORD)wcslen(w), &written, NULL);
  } else {
    UINT cp = GetConsoleOutputCP();
    char *bytes = wide_to_cp(w, cp ? cp : GetOEMCP());
    WriteFile(h, bytes, (DWORD)strlen(bytes), &written, NULL);
    free(bytes);
  }
  free(w);
}

static inline void out_text(const char *utf8) { emit(STD_OUTPUT_HANDLE, utf8); }
static inline void err_text(const char *utf8) { emit(STD_ERROR_HANDLE, utf8); }

static inline void errf(const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  err_text(tmp);
}

static inline char *wide_to_utf8(const wchar_t *w) { return wide_to_cp(w, CP_UTF8); }

/* argv in UTF-8, split by the same rules as the C runtime (CommandLineToArgvW). */
static inline char **utf8_argv(int *argc) {
  wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), argc);
  char **argv = malloc(sizeof(char *) * (*argc + 1));
  for (int i = 0; i < *argc; i++) argv[i] = wide_to_utf8(wargv[i]);
  argv[*argc] = NULL;
  LocalFree(wargv);
  return argv;
}

static inline char *env_utf8(const char *name) {
  wchar_t wname[128], value[32768];
  MultiByteToWideChar(CP_UTF8, 0, name, -1, wname, 128);
  DWORD n = GetEnvironmentVariableW(wname, value, 32768);
  if (n == 0 || n >= 32768) return NULL;
  return wide_to_utf8(value);
}

/* The state file: named by an environment variable, else beside the exe, so one lab's tools share one table. */
static inline char *state_path(const char *env_name, const char *default_name) {
  char *from_env = env_utf8(env_name);
  if (from_env && *from_env) return from_env;
  wchar_t exe[MAX_PATH];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  wchar_t *slash = wcsrchr(exe, L'\\');
  if (slash) slash[1] = 0;
  char *dir = wide_to_utf8(exe);
  char *path = malloc(strlen(dir) + strlen(default_name) + 1);
  strcpy(path, dir);
  strcat(path, default_name);
  free(dir);
  return path;
}

/* Two tools run at once (a test and the product) must not interleave their read-modify-write. */
static inline HANDLE lock_state(const char *path) {
  char lock[MAX_PATH * 3];
  snprintf(lock, sizeof lock, "%s.lock", path);
  wchar_t *w = utf8_to_wide(lock);
  for (int i = 0; i < 1000; i++) {
    HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (h != INVALID_HANDLE_VALUE) {
      free(w);
      return h;
    }
    Sleep(10);
  }
  free(w);
  errf("fake tool: could not lock %s within 10 s\r\n", lock);
  ExitProcess(2);
  return NULL;
}

static inline char *read_file_utf8(const char *path) {
  wchar_t *w = utf8_to_wide(path);
  HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
  free(w);
  if (h == INVALID_HANDLE_VALUE) return NULL;
  DWORD size = GetFileSize(h, NULL), got = 0;
  char *data = malloc(size + 1);
  ReadFile(h, data, size, &got, NULL);
  data[got] = 0;
  CloseHandle(h);
  return data;
}

/* Written beside and renamed over, so a reader never sees half a table. */
static inline void write_file_utf8(const char *path, const char *text) {
  char tmp[MAX_PATH * 3];
  snprintf(tmp, sizeof tmp, "%s.new", path);
  wchar_t *wtmp = utf8_to_wide(tmp), *wpath = utf8_to_wide(path);
  HANDLE h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  DWORD written;
  if (h == INVALID_HANDLE_VALUE || !WriteFile(h, text, (DWORD)strlen(text), &written, NULL)) {
    errf("fake tool: cannot write %s (Windows error %lu)\r\n", tmp, GetLastError());
    ExitProcess(2);
  }
  CloseHandle(h);
  if (!MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING)) {
    errf("fake tool: cannot replace %s (Windows error %lu)\r\n", path, GetLastError());
    ExitProcess(2);
  }
  free(wtmp);
  free(wpath);
}

/* Splits text into lines in place (CR LF or LF); returns how many. */
static inline int split_lines(char *text, char ***lines) {
  int n = 0, cap = 16;
  *lines = malloc(sizeof(char *) * cap);
  for (char *p = text; p && *p;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '\r') p[len - 1] = 0;
    if (n == cap) *lines = realloc(*lines, sizeof(char *) * (cap *= 2));
    (*lines)[n++] = p;
    p = nl ? nl + 1 : NULL;
  }
  return n;
}

#endif
