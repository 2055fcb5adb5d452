/*
 * The log goes in root's runtime folder, %ProgramData%\minikube-tunnel. Any
 * user may create a folder in %ProgramData% and would own it, or make it a
 * junction to somewhere else; a service running as LocalSystem that appended
 * to a file there would then write wherever that user chose. So the host
 * makes the folder itself with a protected DACL for SYSTEM and
 * Administrators, or, when it exists, holds it open (no link followed, not
 * deletable or renamable while held) and accepts it only if it is root's
 * alone: the rule ensureRootDirectory and notRootOwned apply in Node
 * (src/engine/root/files/root-directory.ts, src/engine/elevation/windows-sddl.ts), read here from
 * the binary descriptor.
 */
#include "root-folder.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

/* Write or append data (add a file or folder), delete it or a child, change its DACL or owner; as in windows-sddl.ts. */
#define CHANGE_RIGHTS                                                                                                  \
  (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL |          \
   GENERIC_WRITE)
#define TRUSTED_INSTALLER L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

static int is_well_known(PSID sid, WELL_KNOWN_SID_TYPE type) { return sid && IsWellKnownSid(sid, type); }

static int is_trusted(PSID sid, PSID self) {
  int trusted = is_well_known(sid, WinLocalSystemSid) || is_well_known(sid, WinBuiltinAdministratorsSid) ||
                (self && sid && EqualSid(sid, self));
  PSID installer = NULL;
  if (!trusted && sid && ConvertStringSidToSidW(TRUSTED_INSTALLER, &installer)) {
    trusted = EqualSid(sid, installer);
    LocalFree(installer);
  }
  return trusted;
}

static void describe_sid(PSID sid, wchar_t *out, size_t len) {
  wchar_t *text = NULL;
  if (sid && ConvertSidToStringSidW(sid, &text)) {
    swprintf(out, len, L"%ls", text);
    LocalFree(text);
  } else {
    swprintf(out, len, L"nobody");
  }
}

const wchar_t *root_only_problem(PSECURITY_DESCRIPTOR sd, PSID self, wchar_t *why, size_t why_len) {
  PSID owner = NULL;
  BOOL defaulted = FALSE, present = FALSE;
  PACL dacl = NULL;
  wchar_t who[200];
  if (!GetSecurityDescriptorOwner(sd, &owner, &defaulted) || !is_trusted(owner, self)) {
    describe_sid(owner, who, 200);
    swprintf(why, why_len, L"it is owned by %ls", who);
    return why;
  }
  if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || !dacl) {
    swprintf(why, why_len, L"it has no DACL, so Everyone (S-1-1-0) can change it");
    return why;
  }
  for (DWORD i = 0; i < dacl->AceCount; i++) {
    ACE_HEADER *header = NULL;
    if (!GetAce(dacl, i, (void **)&header)) continue;
    /* A template for children does not apply to the folder itself. */
    if (header->AceFlags & INHERIT_ONLY_ACE) continue;
    BYTE type = header->AceType;
    if (type == ACCESS_ALLOWED_ACE_TYPE || type == ACCESS_ALLOWED_CALLBACK_ACE_TYPE) {
      ACCESS_ALLOWED_ACE *ace = (ACCESS_ALLOWED_ACE *)header;
      if (!(ace->Mask & CHANGE_RIGHTS)) continue;
      PSID sid = (PSID)&ace->SidStart;
      /* OWNER RIGHTS and CREATOR OWNER stand for the owner, already judged above. */
      if (is_well_known(sid, WinCreatorOwnerRightsSid) || is_well_known(sid, WinCreatorOwnerSid)) continue;
      if (is_trusted(sid, self)) continue;
      describe_sid(sid, who, 200);
      swprintf(why, why_len, L"%ls can change it", who);
      return why;
    }
    /* An object ACE that grants a change is not read further: refusing it can only be stricter. */
    if ((type == ACCESS_ALLOWED_OBJECT_ACE_TYPE || type == ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE) &&
        (((ACCESS_ALLOWED_OBJECT_ACE *)header)->Mask & CHANGE_RIGHTS)) {
      swprintf(why, why_len, L"an object ACE lets someone change it");
      return why;
    }
  }
  return NULL;
}

/* The SID this process runs as (LocalSystem for the service); malloc'd. */
static PSID process_user(void) {
  HANDLE token;
  BYTE buffer[256];
  DWORD size = 0;
  PSID copy = NULL;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return NULL;
  if (GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &size)) {
    PSID sid = ((TOKEN_USER *)buffer)->User.Sid;
    DWORD len = GetLengthSid(sid);
    copy = malloc(len);
    if (copy) CopySid(len, copy, sid);
  }
  CloseHandle(token);
  return copy;
}

static DWORD fail(DWORD error, wchar_t *why, size_t why_len, const wchar_t *what, const wchar_t *path) {
  swprintf(why, why_len, L"%ls %ls (Windows error %lu)", what, path, error);
  return error;
}

/* The folder is ours when we create it; otherwise it must already be root's alone. 0 or a Win32 error. */
static DWORD ensure_root_folder(const wchar_t *dir, wchar_t *why, size_t why_len) {
  PSECURITY_DESCRIPTOR wanted = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(MKT_ROOT_ONLY_FOLDER_SDDL, SDDL_REVISION_1, &wanted, NULL))
    return fail(GetLastError(), why, why_len, L"cannot build the security descriptor for", dir);
  SECURITY_ATTRIBUTES sa = {sizeof sa, wanted, FALSE};
  BOOL made = CreateDirectoryW(dir, &sa);
  DWORD error = made ? 0 : GetLastError();
  LocalFree(wanted);
  if (made) return 0;
  if (error != ERROR_ALREADY_EXISTS) return fail(error, why, why_len, L"cannot create", dir);
  /* Held without FILE_SHARE_DELETE while it is judged and the log opened: nobody can swap it meanwhile. */
  HANDLE folder = CreateFileW(dir, READ_CONTROL | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                              OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  if (folder == INVALID_HANDLE_VALUE) return fail(GetLastError(), why, why_len, L"cannot open", dir);
  BY_HANDLE_FILE_INFORMATION info;
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID self = process_user();
  const wchar_t *problem = NULL;
  wchar_t reason[400];
  if (!GetFileInformationByHandle(folder, &info)) {
    error = GetLastError();
    problem = L"its attributes cannot be read";
  } else if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
             (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    error = ERROR_ACCESS_DENIED;
    problem = L"it is not a plain folder (a file, a junction or a link)";
  } else if ((error = GetSecurityInfo(folder, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                      NULL, NULL, NULL, NULL, &sd)) != ERROR_SUCCESS) {
    problem = L"its security cannot be read";
  } else if ((problem = root_only_problem(sd, self, reason, 400)) != NULL) {
    error = ERROR_ACCESS_DENIED;
  }
  if (sd) LocalFree(sd);
  free(self);
  CloseHandle(folder);
  if (!problem) return 0;
  swprintf(why, why_len,
           L"%ls must be a folder only SYSTEM and Administrators can change, but %ls; an administrator may delete it, "
           L"and the service makes it anew",
           dir, problem);
  return error;
}

HANDLE open_root_log(const wchar_t *path, wchar_t *why, size_t why_len, DWORD *error) {
  size_t n = wcslen(path);
  wchar_t *dir = _wcsdup(path);
  wchar_t *slash = dir ? wcsrchr(dir, L'\\') : NULL;
  *error = ERROR_INVALID_PARAMETER;
  if (!slash || n >= MAX_PATH - 3) {
    swprintf(why, why_len, L"the log %ls is not a file in a folder", path);
    free(dir);
    return INVALID_HANDLE_VALUE;
  }
  *slash = 0;
  *error = ensure_root_folder(dir, why, why_len);
  free(dir);
  if (*error) return INVALID_HANDLE_VALUE;

  WIN32_FILE_ATTRIBUTE_DATA existing;
  if (GetFileAttributesExW(path, GetFileExInfoStandard, &existing) &&
      (((long long)existing.nFileSizeHigh << 32) | existing.nFileSizeLow) > MKT_LOG_ROTATE_BYTES) {
    wchar_t old[MAX_PATH];
    swprintf(old, MAX_PATH, L"%ls.1", path);
    MoveFileExW(path, old, MOVEFILE_REPLACE_EXISTING);
  }

  PSECURITY_DESCRIPTOR sd = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(MKT_ROOT_ONLY_FILE_SDDL, SDDL_REVISION_1, &sd, NULL)) {
    *error = fail(GetLastError(), why, why_len, L"cannot build the security descriptor for", path);
    return INVALID_HANDLE_VALUE;
  }
  SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
  /* Append-only: every write of the host and of the helper lands at the end, whoever writes. */
  HANDLE log = CreateFileW(path, FILE_APPEND_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  *error = log == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  LocalFree(sd);
  if (log == INVALID_HANDLE_VALUE) {
    fail(*error, why, why_len, L"cannot open the log", path);
    return INVALID_HANDLE_VALUE;
  }
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(log, &info) || (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
      (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) || info.nNumberOfLinks != 1) {
    CloseHandle(log);
    *error = ERROR_ACCESS_DENIED;
    swprintf(why, why_len, L"the log %ls is not a plain file of its own (a link or a folder)", path);
    return INVALID_HANDLE_VALUE;
  }
  return log;
}
