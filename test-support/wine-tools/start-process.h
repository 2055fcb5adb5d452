#ifndef MKT_START_PROCESS_H
#define MKT_START_PROCESS_H

/*
 * Start-Process for the fake powershell.exe (powershell.c, which includes this
 * file once).
 *
 * -Command text: only `Start-Process -FilePath '…' [-ArgumentList '…']
 * [-WindowStyle …] [-Verb RunAs] [-Wait]`, the elevation @vscode/sudo-prompt
 * 9.3.2 runs. Wine has no UAC, so RunAs just runs the program; with
 * MKT_FAKE_UAC=deny it fails as a declined prompt does. sudo-prompt's
 * execute.bat ends in `(echo %ERRORLEVEL%) > "status"`, a redirected
 * parenthesised block, which Wine 8's cmd.exe writes to the console instead
 * (the file stays empty and sudo-prompt waits forever); and Wine 8's
 * `cmd /c call x.bat` exits 1 whatever x.bat returned. So a batch file of
 * exactly that shape is carried out here: command.bat runs through
 * `cmd /d /c`, its output goes to the named files, and its exit code is
 * written to the status file, as the real execute.bat does on Windows.
 * command.bat runs from a copy beside it without its `chcp 65001>nul` line:
 * Wine's chcp needs a console the lab does not have, and failing there it
 * would leave ERRORLEVEL 1 behind a command that sets none (echo).
 */
static HANDLE create_out(const char *path) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  wchar_t *w = utf8_to_wide(path);
  HANDLE h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, CREATE_ALWAYS, 0, NULL);
  free(w);
  return h;
}

/* Starts a command line; with files, as the child's stdout/stderr. Returns its exit code if asked to wait. */
static DWORD start(const char *cmdline, HANDLE out, HANDLE err, int wait, int detach) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (out) {
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out;
    si.hStdError = err;
  }
  wchar_t *w = utf8_to_wide(cmdline);
  DWORD flags = CREATE_UNICODE_ENVIRONMENT | (detach ? DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP : 0);
  if (!CreateProcessW(NULL, w, NULL, NULL, out != NULL, flags, NULL, NULL, &si, &pi)) {
    errf("Start-Process : This command cannot be run due to the error: Windows error %lu.\r\n", GetLastError());
    ExitProcess(1);
  }
  free(w);
  DWORD code = 0;
  if (wait) {
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
  }
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return code;
}

/* The second half of sudo-prompt's execute.bat, run here in a detached copy of this program. */
static int run_batch(char **argv) {
  HANDLE out = create_out(argv[3]), err = create_out(argv[4]);
  char cmd[4096], copy[MAX_PATH * 3];
  // Wine's chcp fails without a console ("Invalid code page", ERRORLEVEL 1); on Windows `chcp 65001` succeeds.
  char *text = read_file_utf8(argv[2]), **lines;
  int n = split_lines(text ? text : _strdup(""), &lines);
  Buf kept = {0};
  buf_add(&kept, "", 0);
  for (int i = 0; i < n; i++) if (_stricmp(lines[i], "chcp 65001>nul") != 0) buf_printf(&kept, "%s\r\n", lines[i]);
  snprintf(copy, sizeof copy, "%s.wine.bat", argv[2]);
  write_file_utf8(copy, kept.data);
  snprintf(cmd, sizeof cmd, "cmd.exe /d /c \"%s\"", copy);
  DWORD code = start(cmd, out, err, 1, 0);
  CloseHandle(out);
  CloseHandle(err);
  char status[32];
  snprintf(status, sizeof status, "%lu\r\n", code);
  write_file_utf8(argv[5], status);
  return 0;
}

/* call "<command.bat>" > "<stdout>" 2> "<stderr>" then (echo %ERRORLEVEL%) > "<status>", as sudo-prompt 9.3.2 writes it. */
static int sudo_prompt_batch(const char *path, char parts[4][1024]) {
  char *text = read_file_utf8(path), **lines;
  if (!text) return 0;
  int n = split_lines(text, &lines);
  if (n < 3 || _stricmp(lines[0], "@echo off") != 0) return 0;
  int got = sscanf(lines[1], "call \"%1023[^\"]\" > \"%1023[^\"]\" 2> \"%1023[^\"]\"", parts[0], parts[1], parts[2]);
  return got == 3 && sscanf(lines[2], "(echo %%ERRORLEVEL%%) > \"%1023[^\"]\"", parts[3]) == 1;
}

/* One word of -Command text: a single-quoted string ('' is a quote) or a bare word. */
static int next_token(char **p, char *out, size_t size) {
  char *s = *p;
  size_t n = 0;
  while (*s == ' ') s++;
  if (!*s) return 0;
  if (*s == '\'') {
    for (s++;; s++) {
      if (!*s) unsupported("unterminated string in", *p);
      if (*s == '\'' && s[1] == '\'') s++;
      else if (*s == '\'') break;
      if (n + 1 < size) out[n++] = *s;
    }
    s++;
  } else {
    while (*s && *s != ' ') if (n + 1 < size) out[n++] = *s++; else s++;
  }
  out[n] = 0;
  *p = s;
  return 1;
}

static void start_process(char *text) {
  char file[1024] = "", arglist[2048] = "", word[1024], value[1024];
  int wait = 0;
  char *p = text + strlen("Start-Process");
  while (next_token(&p, word, sizeof word)) {
    if (_stricmp(word, "-Wait") == 0) {
      wait = 1;
      continue;
    }
    int known = _stricmp(word, "-FilePath") == 0 || _stricmp(word, "-ArgumentList") == 0 || _stricmp(word, "-WindowStyle") == 0 || _stricmp(word, "-Verb") == 0;
    if (!known) unsupported("Start-Process parameter", word);
    if (!next_token(&p, value, sizeof value)) unsupported("Start-Process parameter without a value", word);
    if (_stricmp(word, "-FilePath") == 0) snprintf(file, sizeof file, "%s", value);
    else if (_stricmp(word, "-ArgumentList") == 0) snprintf(arglist, sizeof arglist, "%s", value);
    else if (_stricmp(word, "-Verb") == 0 && _stricmp(value, "RunAs") != 0) unsupported("Start-Process -Verb", value);
  }
  if (!*file) unsupported("Start-Process without -FilePath", text);
  char *uac = env_utf8("MKT_FAKE_UAC");
  if (uac && _stricmp(uac, "deny") == 0) {
    err_text("Start-Process : This command cannot be run due to the error: The operation was canceled by the user.\r\n");
    ExitProcess(1);
  }
  char parts[4][1024], cmd[4096], self[MAX_PATH * 3];
  wchar_t wself[MAX_PATH];
  GetModuleFileNameW(NULL, wself, MAX_PATH);
  snprintf(self, sizeof self, "%s", wide_to_utf8(wself));
  size_t len = strlen(file);
  int batch = len > 4 && (_stricmp(file + len - 4, ".bat") == 0 || _stricmp(file + len - 4, ".cmd") == 0);
  if (batch && sudo_prompt_batch(file, parts))
    snprintf(cmd, sizeof cmd, "\"%s\" -MktRunBatch \"%s\" \"%s\" \"%s\" \"%s\"", self, parts[0], parts[1], parts[2], parts[3]);
  else if (batch)
    snprintf(cmd, sizeof cmd, "cmd.exe /d /c \"\"%s\" %s\"", file, arglist);
  else
    snprintf(cmd, sizeof cmd, "\"%s\" %s", file, arglist);
  start(cmd, NULL, NULL, wait, 1);
  ExitProcess(0);
}

#endif
