/*
 * The log goes in root's runtime folder, %ProgramData%\minikube-tunnel. Any
 * user may create a folder in %ProgramData% and would own it, or make it a
 * junction to somewhere else; a service running as LocalSystem that appended
 * to a file there would then write wherever that user chose. So the host
 * makes the folder itself with a protected DACL for SYSTEM and
 * Administrators, or, when it exists, accepts it only if it is root's alone:
 * the rule ensureRootDirectory and notRootOwned apply in Node
 * (src/engine/root/files/root-directory.ts, src/engine/elevation/sddl-windows.ts), read here from
 * the binary descriptor. Either way the folder is held open (no link
 * followed, not deletable or renamable while held) until the log is open, the
 * log's final path is checked to be inside the held folder, and a folder
 * whose parent a user could change (delete or rename its children, or its
 * DACL or owner) is refused: that user could put another folder in its place
 * between the check and the open (docs/security.md, "Windows: the installed helper's service host").
 */
#include "root-folder.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

/* Write or append data (add a file or folder), delete it or a child, change its DACL or owner; as in sddl-windows.ts. */
#define CHANGE_RIGHTS                                                                                                  \
  (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL |          \
   GENERIC_WRITE)
/*
 * What a user may hold on the folder's parent without reaching the folder: creating entries (FILE_WRITE_DATA,
 * FILE_APPEND_DATA, as %ProgramData% lets Users) is fine, the folder is judged itself; deleting or renaming a child, or
 * the parent, or changing the parent's DACL or owner is not.
 */
#define PARENT_CHANGE_RIGHTS (FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL)
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

/* NULL when the owner is trusted and no ACE that applies to the object grants anyone else one of `rights`. */
static const wchar_t *judge(PSECURITY_DESCRIPTOR sd, PSID self, ACCESS_MASK rights, wchar_t *why, size_t why_len) {
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
      if (!(ace->Mask & rights)) continue;
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
        (((ACCESS_ALLOWED_OBJECT_ACE *)header)->Mask & rights)) {
      swprintf(why, why_len, L"an object ACE lets someone change it");
      return why;
    }
  }
  return NULL;
}

const wchar_t *root_only_problem(PSECURITY_DESCRIPTOR sd, PSID self, wchar_t *why, size_t why_len) {
  return judge(sd, self, CHANGE_RIGHTS, why, why_len);
}

const wchar_t *parent_problem(PSECURITY_DESCRIPTOR sd, PSID self, wchar_t *why, size_t why_len) {
  return judge(sd, self, PARENT_CHANGE_RIGHTS, why, why_len);
}

int path_is_inside(const wchar_t *folder, const wchar_t *file) {
  size_t n = wcslen(folder);
  if (n == 0 || _wcsnicmp(folder, file, n) != 0 || file[n] != L'\\') return 0;
  /* Directly in it: one more component, no separator after. */
  return file[n + 1] != 0 && wcschr(file + n + 1, L'\\') == NULL;
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

/* The descriptor of a held handle's object judged by `problem_of`; NULL when it passes, else why (in `reason`). */
static const wchar_t *judge_handle(HANDLE handle, PSID self,
                                   const wchar_t *(*problem_of)(PSECURITY_DESCRIPTOR, PSID, wchar_t *, size_t),
                                   wchar_t *reason, size_t reason_len, DWORD *error) {
  PSECURITY_DESCRIPTOR sd = NULL;
  const wchar_t *problem = NULL;
  *error = GetSecurityInfo(handle, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, NULL, NULL,
                           NULL, NULL, &sd);
  if (*error != ERROR_SUCCESS) {
    problem = L"its security cannot be read";
  } else if ((problem = problem_of(sd, self, reason, reason_len)) != NULL) {
    *error = ERROR_ACCESS_DENIED;
  }
  if (sd) LocalFree(sd);
  return problem;
}

/*
 * A folder opened as itself (never through a link), held without FILE_SHARE_DELETE: not deletable or renamable. The
 * share mode binds others only when the handle has a data right (read, write, append, execute or delete; a handle with
 * READ_CONTROL and attributes alone takes no part in sharing), hence FILE_LIST_DIRECTORY.
 */
static HANDLE hold_folder(const wchar_t *dir, ACCESS_MASK access) {
  return CreateFileW(dir, access | FILE_LIST_DIRECTORY, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                     FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
}

/*
 * The folder is ours when we create it; otherwise it must already be root's alone. Its parent must not let anyone
 * else delete or rename what is in it. 0 and the folder held in *held, or a Win32 error.
 */
static DWORD ensure_root_folder(const wchar_t *dir, HANDLE *held, wchar_t *why, size_t why_len) {
  *held = INVALID_HANDLE_VALUE;
  wchar_t *parent_path = _wcsdup(dir);
  wchar_t *slash = parent_path ? wcsrchr(parent_path, L'\\') : NULL;
  if (!slash) {
    free(parent_path);
    return fail(ERROR_INVALID_PARAMETER, why, why_len, L"no parent folder for", dir);
  }
  /* "C:\x": the parent is the drive's root, "C:\". */
  if (slash == wcschr(parent_path, L'\\')) slash[1] = 0;
  else *slash = 0;
  PSID self = process_user();
  const wchar_t *problem = NULL;
  wchar_t reason[400];
  DWORD error = 0;
  HANDLE parent = hold_folder(parent_path, READ_CONTROL | FILE_READ_ATTRIBUTES);
  if (parent == INVALID_HANDLE_VALUE) {
    error = fail(GetLastError(), why, why_len, L"cannot open", parent_path);
    free(parent_path);
    free(self);
    return error;
  }
  const wchar_t *parent_problem_text = judge_handle(parent, self, parent_problem, reason, 400, &error);
  if (parent_problem_text) {
    swprintf(why, why_len,
             L"%ls must be in a folder only SYSTEM and Administrators can change, but in its folder %ls %ls; "
             L"an administrator should restore that folder's permissions",
             dir, parent_path, parent_problem_text);
    CloseHandle(parent);
    free(parent_path);
    free(self);
    return error;
  }
  free(parent_path);

  PSECURITY_DESCRIPTOR wanted = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(MKT_ROOT_ONLY_FOLDER_SDDL, SDDL_REVISION_1, &wanted, NULL)) {
    CloseHandle(parent);
    free(self);
    return fail(GetLastError(), why, why_len, L"cannot build the security descriptor for", dir);
  }
  SECURITY_ATTRIBUTES sa = {sizeof sa, wanted, FALSE};
  BOOL made = CreateDirectoryW(dir, &sa);
  error = made ? 0 : GetLastError();
  LocalFree(wanted);
  if (!made && error != ERROR_ALREADY_EXISTS) {
    CloseHandle(parent);
    free(self);
    return fail(error, why, why_len, L"cannot create", dir);
  }
  HANDLE folder = hold_folder(dir, READ_CONTROL | FILE_READ_ATTRIBUTES);
  /* The parent is no longer needed: nobody else may delete or rename its children, and ours is held from here on. */
  CloseHandle(parent);
  if (folder == INVALID_HANDLE_VALUE) {
    free(self);
    return fail(GetLastError(), why, why_len, L"cannot open", dir);
  }
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(folder, &info)) {
    error = GetLastError();
    problem = L"its attributes cannot be read";
  } else if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
             (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    error = ERROR_ACCESS_DENIED;
    problem = L"it is not a plain folder (a file, a junction or a link)";
  } else if (!made) {
    /* One we made has our DACL; one that was there must be root's alone. */
    problem = judge_handle(folder, self, root_only_problem, reason, 400, &error);
  }
  free(self);
  if (!problem) {
    *held = folder;
    return 0;
  }
  CloseHandle(folder);
  swprintf(why, why_len,
           L"%ls must be a folder only SYSTEM and Administrators can change, but %ls; an administrator may delete it, "
           L"and the service makes it anew",
           dir, problem);
  return error;
}

/* The final path of a handle's object (GetFinalPathNameByHandleW, as a DOS path); malloc'd, NULL when unknown. */
static wchar_t *final_path(HANDLE handle) {
  DWORD n = GetFinalPathNameByHandleW(handle, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (n == 0) return NULL;
  wchar_t *path = malloc(sizeof(wchar_t) * (n + 1));
  if (!path) return NULL;
  DWORD got = GetFinalPathNameByHandleW(handle, path, n + 1, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (got == 0 || got > n) {
    free(path);
    return NULL;
  }
  return path;
}

static HANDLE open_log_in(HANDLE folder, const wchar_t *path, wchar_t *why, size_t why_len, DWORD *error);

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
  HANDLE folder = INVALID_HANDLE_VALUE;
  *error = ensure_root_folder(dir, &folder, why, why_len);
  free(dir);
  if (*error) return INVALID_HANDLE_VALUE;
  HANDLE log = open_log_in(folder, path, why, why_len, error);
  /* Held until here: the log is open (or refused) in the folder that was judged. */
  CloseHandle(folder);
  return log;
}

/* The log opened in the held folder, refused unless its final path is directly inside the folder's. */
static HANDLE open_log_in(HANDLE folder, const wchar_t *path, wchar_t *why, size_t why_len, DWORD *error) {

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
  wchar_t *folder_at = final_path(folder);
  wchar_t *log_at = final_path(log);
  int inside = folder_at && log_at && path_is_inside(folder_at, log_at);
  if (!inside) {
    CloseHandle(log);
    *error = ERROR_ACCESS_DENIED;
    swprintf(why, why_len, L"the log %ls is not in the folder that was checked (it is at %ls, the folder at %ls)", path,
             log_at ? log_at : L"an unknown path", folder_at ? folder_at : L"an unknown path");
  }
  free(folder_at);
  free(log_at);
  return inside ? log : INVALID_HANDLE_VALUE;
}
