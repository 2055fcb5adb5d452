/*
 * A fake powershell.exe for the Wine lab: the few script shapes the product
 * and @vscode/sudo-prompt send, and nothing else.
 *
 * Follows the documented behaviour of: powershell.exe's command line
 * (about_PowerShell_exe: -EncodedCommand takes the base64 of the script in
 * UTF-16LE; other words form the -Command text), the DnsClient cmdlets
 * Add-DnsClientNrptRule, Get-DnsClientNrptRule, Remove-DnsClientNrptRule
 * (learn.microsoft.com, DnsClient module: a rule has a GUID Name in braces, a
 * Namespace, NameServers and a Comment), Where-Object's -like (wildcards *
 * and ?, case-insensitive), ConvertTo-Json -Compress (nothing for no input,
 * an object for one, an array for more), $ErrorActionPreference = 'Stop'
 * (the first error ends the script: exit code 1, the error on stderr), and
 * Start-Process -FilePath -Verb RunAs (starts the program elevated and,
 * without -Wait, returns once it has started).
 *
 * Statements of an -EncodedCommand script, one per line, matched after
 * collapsing runs of blanks, case-insensitively ('…' is a single-quoted
 * string, '' inside it a quote):
 *   $ErrorActionPreference = 'Stop'
 *   Add-DnsClientNrptRule -Namespace '…' -NameServers '…' -Comment '…'
 *   Get-DnsClientNrptRule | Where-Object { $_.Comment -like '…' } | ForEach-Object { Remove-DnsClientNrptRule -Name $_.Name -Force }
 *   Get-DnsClientNrptRule | Where-Object { $_.Comment -like '…' } | Select-Object Name,Comment | ConvertTo-Json -Compress
 *   (either filter also with -eq, PowerShell's case-insensitive string equality)
 *   Remove-DnsClientNrptRule -Name '…' -Force
 * Anything else: "fake powershell.exe: unsupported …" on stderr, exit code 3.
 * Rules live in MKT_FAKE_NRPT_STATE (else nrpt-state.txt beside the exe),
 * one per line: Name TAB Namespace TAB NameServers TAB Comment.
 *
 * -Command text (Start-Process, sudo-prompt's elevation): start-process.h.
 */
#include "fake-common.h"
#include <ctype.h>
#include <objbase.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#define UNSUPPORTED 3

static int stop_on_error, failed;

static void unsupported(const char *what, const char *text) {
  errf("fake powershell.exe: unsupported %s: %s\r\n", what, text);
  ExitProcess(UNSUPPORTED);
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* base64 → UTF-16LE bytes → UTF-8. */
static char *decode_script(const char *b64) {
  size_t n = strlen(b64), len = 0;
  unsigned char *bytes = malloc(n + 2);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n && b64[i] != '='; i++) {
    int v = b64val(b64[i]);
    if (v < 0) unsupported("-EncodedCommand value (not base64)", b64);
    acc = (acc << 6) | (unsigned)v;
    if ((bits += 6) >= 8) bytes[len++] = (unsigned char)(acc >> (bits -= 8));
  }
  if (len % 2) unsupported("-EncodedCommand value (odd UTF-16 length)", b64);
  wchar_t *w = malloc(len + 2);
  memcpy(w, bytes, len);
  w[len / 2] = 0;
  char *script = wide_to_utf8(w);
  free(bytes);
  free(w);
  return script;
}

/* PowerShell names and operators are case-insensitive; the product writes single spaces, a person might not. */
static void collapse_blanks(char *s) {
  char *o = s;
  int blank = 0, quoted = 0;
  for (char *p = s; *p; p++) {
    if (*p == '\'') quoted = !quoted;
    if (!quoted && (*p == ' ' || *p == '\t')) {
      blank = 1;
      continue;
    }
    if (blank && o != s) *o++ = ' ';
    blank = 0;
    *o++ = *p;
  }
  *o = 0;
}

/* Matches a statement against a pattern whose '…' (written as ?) captures a single-quoted string. */
static int match(const char *s, const char *pattern, char caps[][1024]) {
  int k = 0;
  for (const char *p = pattern; *p; p++) {
    if (*p == '?') {
      if (*s++ != '\'') return 0;
      char *o = caps[k++];
      for (;;) {
        if (*s == 0) return 0;
        if (*s == '\'' && s[1] == '\'') *o++ = '\'', s += 2;
        else if (*s == '\'') break;
        else *o++ = *s++;
      }
      *o = 0;
      s++;
    } else if (tolower((unsigned char)*p) != tolower((unsigned char)*s++)) {
      return 0;
    }
  }
  return *s == 0;
}

static int like(const char *text, const char *pat) {
  if (*pat == 0) return *text == 0;
  if (*pat == '*') return like(text, pat + 1) || (*text && like(text + 1, pat));
  if (*text == 0) return 0;
  if (*pat == '?' || tolower((unsigned char)*pat) == tolower((unsigned char)*text)) return like(text + 1, pat + 1);
  return 0;
}

typedef struct {
  char name[64], ns[256], servers[256], comment[1024];
} Rule;

static Rule rules[256];
static int n_rules;
static char *state;

static void load(void) {
  char *text = read_file_utf8(state), **lines;
  int n = split_lines(text ? text : _strdup(""), &lines);
  for (int i = 0; i < n && n_rules < 256; i++) {
    if (lines[i][0] == 0) continue;
    Rule *r = &rules[n_rules++];
    char *f[4] = {0};
    f[0] = lines[i];
    for (int k = 1; k < 4 && f[k - 1]; k++) {
      char *tab = strchr(f[k - 1], '\t');
      if (tab) *tab = 0, f[k] = tab + 1;
    }
    if (!f[3]) {
      errf("fake powershell.exe: unreadable NRPT state line %d in %s\r\n", i + 1, state);
      ExitProcess(2);
    }
    snprintf(r->name, sizeof r->name, "%s", f[0]);
    snprintf(r->ns, sizeof r->ns, "%s", f[1]);
    snprintf(r->servers, sizeof r->servers, "%s", f[2]);
    snprintf(r->comment, sizeof r->comment, "%s", f[3]);
  }
}

static void save(void) {
  Buf b = {0};
  buf_add(&b, "", 0);
  for (int i = 0; i < n_rules; i++) buf_printf(&b, "%s\t%s\t%s\t%s\n", rules[i].name, rules[i].ns, rules[i].servers, rules[i].comment);
  write_file_utf8(state, b.data);
}

static void fail(const char *cmdlet, const char *message) {
  errf("%s : %s\r\n", cmdlet, message);
  failed = 1;
  if (stop_on_error) ExitProcess(1);
}

static void remove_at(int i) {
  memmove(&rules[i], &rules[i + 1], sizeof(Rule) * (n_rules - i - 1));
  n_rules--;
}

static void json_string(Buf *b, const char *s) {
  buf_add(b, "\"", 1);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') buf_printf(b, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) buf_printf(b, "\\u%04x", *s);
    else buf_add(b, s, 1);
  }
  buf_add(b, "\"", 1);
}

/* -eq compares whole strings: a '*' in the value is a star, not a wildcard. */
static int kept(const Rule *r, int eq, const char *value) {
  return eq ? _stricmp(r->comment, value) == 0 : like(r->comment, value);
}

/* Pipelines starting Get-DnsClientNrptRule | Where-Object { $_.Comment -like|-eq '…' } | <rest>. */
static int filtered(const char *line, const char *rest, int *eq, char caps[][1024]) {
  char pattern[512];
  for (*eq = 0; *eq < 2; (*eq)++) {
    snprintf(pattern, sizeof pattern, "Get-DnsClientNrptRule | Where-Object { $_.Comment %s ? } | %s", *eq ? "-eq" : "-like", rest);
    if (match(line, pattern, caps)) return 1;
  }
  return 0;
}

static void statement(char *line) {
  char caps[3][1024];
  int eq;
  collapse_blanks(line);
  if (line[0] == 0) return;
  if (match(line, "$ErrorActionPreference = ?", caps) && _stricmp(caps[0], "Stop") == 0) {
    stop_on_error = 1;
  } else if (match(line, "Add-DnsClientNrptRule -Namespace ? -NameServers ? -Comment ?", caps)) {
    unsigned char addr[16];
    if (inet_pton(AF_INET, caps[1], addr) != 1 && inet_pton(AF_INET6, caps[1], addr) != 1) return fail("Add-DnsClientNrptRule", "The parameter NameServers is not a valid IP address.");
    if (n_rules >= 256) unsupported("number of NRPT rules (over 256)", line);
    Rule *r = &rules[n_rules++];
    GUID guid;
    wchar_t wname[64];
    CoCreateGuid(&guid);
    StringFromGUID2(&guid, wname, 64);
    char *name = wide_to_utf8(wname);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->ns, sizeof r->ns, "%s", caps[0]);
    snprintf(r->servers, sizeof r->servers, "%s", caps[1]);
    snprintf(r->comment, sizeof r->comment, "%s", caps[2]);
    save();
  } else if (filtered(line, "ForEach-Object { Remove-DnsClientNrptRule -Name $_.Name -Force }", &eq, caps)) {
    for (int i = 0; i < n_rules;) if (kept(&rules[i], eq, caps[0])) remove_at(i); else i++;
    save();
  } else if (filtered(line, "Select-Object Name,Comment | ConvertTo-Json -Compress", &eq, caps)) {
    Buf b = {0};
    int count = 0;
    for (int i = 0; i < n_rules; i++) {
      if (!kept(&rules[i], eq, caps[0])) continue;
      const char *open = count++ ? ",{\"Name\":" : "{\"Name\":";
      buf_add(&b, open, strlen(open));
      json_string(&b, rules[i].name);
      buf_add(&b, ",\"Comment\":", 11);
      json_string(&b, rules[i].comment);
      buf_add(&b, "}", 1);
    }
    if (count == 1) out_text(b.data), out_text("\r\n");
    else if (count > 1) out_text("["), out_text(b.data), out_text("]\r\n");
  } else if (match(line, "Remove-DnsClientNrptRule -Name ? -Force", caps)) {
    for (int i = 0; i < n_rules; i++) {
      if (_stricmp(rules[i].name, caps[0]) == 0) {
        remove_at(i);
        save();
        return;
      }
    }
    char message[1200];
    snprintf(message, sizeof message, "No NRPT rule named '%s' was found. (fake powershell.exe's wording)", caps[0]);
    fail("Remove-DnsClientNrptRule", message);
  } else {
    unsupported("script statement", line);
  }
}

static void run_script(char *script) {
  state = state_path("MKT_FAKE_NRPT_STATE", "nrpt-state.txt");
  HANDLE lock = lock_state(state);
  load();
  char **lines;
  int n = split_lines(script, &lines);
  for (int i = 0; i < n; i++) statement(lines[i]);
  CloseHandle(lock);
  ExitProcess(failed ? 1 : 0);
}

#include "start-process.h"

int main(void) {
  int argc;
  char **argv = utf8_argv(&argc);
  if (argc == 6 && strcmp(argv[1], "-MktRunBatch") == 0) return run_batch(argv);
  Buf command = {0};
  buf_add(&command, "", 0);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (_stricmp(a, "-NoProfile") == 0 || _stricmp(a, "-NonInteractive") == 0 || _stricmp(a, "-NoLogo") == 0) continue;
    if (_stricmp(a, "-ExecutionPolicy") == 0 && i + 1 < argc) {
      i++;
      continue;
    }
    if ((_stricmp(a, "-EncodedCommand") == 0 || _stricmp(a, "-enc") == 0 || _stricmp(a, "-e") == 0 || _stricmp(a, "-ec") == 0) && i + 1 < argc) {
      if (i + 2 != argc) unsupported("arguments after -EncodedCommand", argv[i + 2]);
      run_script(decode_script(argv[i + 1]));
    }
    if (_stricmp(a, "-Command") == 0 || _stricmp(a, "-c") == 0) continue;
    if (a[0] == '-' && command.len == 0) unsupported("powershell.exe option", a);
    if (command.len) buf_add(&command, " ", 1);
    buf_add(&command, a, strlen(a));
  }
  collapse_blanks(command.data);
  if (_strnicmp(command.data, "Start-Process ", 14) == 0) start_process(command.data);
  unsupported("command", command.len ? command.data : "(none: an interactive shell)");
  return UNSUPPORTED;
}
