/*
 * Test plumbing for the Wine lab, not a fake of its own: `minikube.exe`
 * (and `docker.exe`, the same program under another name) runs the node
 * script of the same name beside it (minikube.mjs, docker.mjs) with
 * Windows' node.exe, passing its own command line on unchanged, with this
 * process's standard handles, and exits with the script's exit code. The
 * product finds it on PATH as it would find the real minikube.exe.
 *
 * The program name is skipped by the rule the Microsoft C runtime uses for
 * argv[0] (learn.microsoft.com, "Parsing C command-line arguments"): up to
 * the closing quote if it starts with one, else up to the first space or
 * tab. The rest is passed through as written, so it needs no re-quoting.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <wchar.h>

static const wchar_t *after_program_name(const wchar_t *cmd) {
  if (*cmd == L'"') {
    cmd++;
    while (*cmd && *cmd != L'"') cmd++;
    if (*cmd) cmd++;
  } else {
    while (*cmd && *cmd != L' ' && *cmd != L'\t') cmd++;
  }
  while (*cmd == L' ' || *cmd == L'\t') cmd++;
  return cmd;
}

static HANDLE inheritable(DWORD which) {
  HANDLE h = GetStdHandle(which);
  if (h && h != INVALID_HANDLE_VALUE) SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  return h;
}

int main(void) {
  wchar_t self[MAX_PATH], node[MAX_PATH];
  DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
  if (n < 4 || n >= MAX_PATH - 1) return 70;
  wcscpy(self + n - 4, L".mjs");
  // The lab keeps Windows' Node there; MKT_FAKE_MINIKUBE_NODE names another.
  if (!GetEnvironmentVariableW(L"MKT_FAKE_MINIKUBE_NODE", node, MAX_PATH)) wcscpy(node, L"C:\\mkt-node\\node.exe");
  const wchar_t *rest = after_program_name(GetCommandLineW());
  size_t size = wcslen(node) + wcslen(self) + wcslen(rest) + 8;
  wchar_t *cmd = HeapAlloc(GetProcessHeap(), 0, size * sizeof(wchar_t));
  if (!cmd) return 70;
  wcscpy(cmd, L"\"");
  wcscat(cmd, node);
  wcscat(cmd, L"\" \"");
  wcscat(cmd, self);
  wcscat(cmd, L"\" ");
  wcscat(cmd, rest);
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = inheritable(STD_INPUT_HANDLE);
  si.hStdOutput = inheritable(STD_OUTPUT_HANDLE);
  si.hStdError = inheritable(STD_ERROR_HANDLE);
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) return 71;
  DWORD code = 70;
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return (int)code;
}
