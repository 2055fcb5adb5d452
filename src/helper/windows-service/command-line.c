/*
 * Windows gives a program one command line, which the program splits
 * itself. Node splits it as Microsoft's C runtime does ("Parsing C++
 * command-line arguments", learn.microsoft.com): the program name is
 * quoted up to the next quote, with no escapes; then whitespace separates
 * arguments, a double quote starts or ends a quoted part, and backslashes are
 * literal unless they come right before a double quote, where 2n of them give
 * n and the quote delimits, and 2n+1 give n and a literal quote. This is the
 * direction src/engine/elevation/command-line-windows.ts does for binPath,
 * written again for the host: it must hand Node the argv the SCM handed it.
 */
#include "command-line.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  wchar_t *data;
  size_t len, cap;
  int overflow;
} WideText;

static void put(WideText *t, wchar_t c, size_t times) {
  for (size_t i = 0; i < times; i++) {
    if (t->len + 1 >= t->cap) {
      t->overflow = 1;
      return;
    }
    t->data[t->len++] = c;
  }
  t->data[t->len] = 0;
}

static void put_text(WideText *t, const wchar_t *s) {
  for (; *s; s++) put(t, *s, 1);
}

/* One argument after the program name, quoted only when it must be (empty, or holding whitespace or a quote). */
static void put_argument(WideText *t, const wchar_t *arg) {
  if (*arg && !wcspbrk(arg, L" \t\n\v\"")) {
    put_text(t, arg);
    return;
  }
  put(t, L'"', 1);
  for (const wchar_t *p = arg;; p++) {
    size_t slashes = 0;
    while (*p == L'\\') p++, slashes++;
    if (*p == 0) {
      /* Before the closing quote: doubled, so they stay backslashes and the quote still closes. */
      put(t, L'\\', slashes * 2);
      break;
    }
    /* Before a literal quote: doubled, plus one that escapes the quote. Elsewhere: as they are. */
    put(t, L'\\', *p == L'"' ? slashes * 2 + 1 : slashes);
    put(t, *p, 1);
  }
  put(t, L'"', 1);
}

wchar_t *windows_command_line(int argc, wchar_t *const *argv) {
  if (argc < 1 || !argv[0][0] || wcschr(argv[0], L'"')) return NULL;
  WideText t = {malloc(sizeof(wchar_t) * MKT_MAX_COMMAND_LINE), 0, MKT_MAX_COMMAND_LINE, 0};
  if (!t.data) return NULL;
  t.data[0] = 0;
  /* The program name is always quoted: its rule has no escapes, and a path may hold spaces. */
  put(&t, L'"', 1);
  put_text(&t, argv[0]);
  put(&t, L'"', 1);
  for (int i = 1; i < argc; i++) {
    put(&t, L' ', 1);
    put_argument(&t, argv[i]);
  }
  if (t.overflow) {
    free(t.data);
    return NULL;
  }
  return t.data;
}

int is_full_windows_path(const wchar_t *path) {
  int drive = ((path[0] >= L'A' && path[0] <= L'Z') || (path[0] >= L'a' && path[0] <= L'z')) && path[1] == L':' &&
              (path[2] == L'\\' || path[2] == L'/');
  int unc = (path[0] == L'\\' && path[1] == L'\\' && path[2] && path[2] != L'?' && path[2] != L'.');
  return drive || unc;
}

const wchar_t *parse_host_options(int argc, wchar_t *const *argv, HostOptions *out) {
  memset(out, 0, sizeof *out);
  out->stop_timeout_s = MKT_DEFAULT_STOP_TIMEOUT_S;
  int i = 1;
  for (; i < argc; i++) {
    const wchar_t *name = argv[i];
    if (wcscmp(name, L"--") == 0) break;
    if (i + 1 >= argc) return L"an option without its value";
    const wchar_t *value = argv[++i];
    if (wcscmp(name, L"--log") == 0) {
      if (!is_full_windows_path(value)) return L"--log must be a full path such as C:\\ProgramData\\x\\helper.log";
      out->log = value;
    } else if (wcscmp(name, L"--stop-timeout") == 0) {
      wchar_t *end = NULL;
      unsigned long seconds = wcstoul(value, &end, 10);
      if (!*value || *end || seconds < 1 || seconds > 3600) return L"--stop-timeout must be 1 to 3600 seconds";
      out->stop_timeout_s = (unsigned)seconds;
    } else {
      return L"unknown option (usage: --log <file> [--stop-timeout <seconds>] -- <program> [arguments...])";
    }
  }
  if (!out->log) return L"--log is required";
  if (i >= argc - 1) return L"no program after --";
  /* Run exactly the program named: a bare name would be searched for along PATH and in the current folder. */
  if (!is_full_windows_path(argv[i + 1])) return L"the program must be a full path";
  out->child_argv = argv + i + 1;
  out->child_argc = argc - i - 1;
  return NULL;
}
