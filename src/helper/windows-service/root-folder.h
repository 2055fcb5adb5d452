/*
 * The host's log lives in root's runtime folder (%ProgramData%\minikube-tunnel),
 * which any user could have created first: see root-folder.c.
 */
#ifndef MKT_SERVICE_ROOT_FOLDER_H
#define MKT_SERVICE_ROOT_FOLDER_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* Root's own folder: SYSTEM and Administrators alone, nothing inherited (ROOT_ONLY_SDDL in sddl-windows.ts). */
#define MKT_ROOT_ONLY_FOLDER_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
#define MKT_ROOT_ONLY_FILE_SDDL L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"
/* A log this large at start is moved to <log>.1 (replacing the one before), so it cannot fill the disk. */
#define MKT_LOG_ROTATE_BYTES (8ll * 1024 * 1024)

/*
 * NULL when a security descriptor is root's alone: owned by SYSTEM,
 * Administrators, TrustedInstaller or `self`, and no ACE that applies to the
 * object lets anyone else write, append, delete, or change its DACL or owner.
 * Otherwise what is wrong, in `why`.
 */
const wchar_t *root_only_problem(PSECURITY_DESCRIPTOR sd, PSID self, wchar_t *why, size_t why_len);

/*
 * NULL when a folder's parent lets nobody but SYSTEM, Administrators,
 * TrustedInstaller or `self` delete or rename its children, delete it, or
 * change its DACL or owner (creating entries, as Users may in %ProgramData%,
 * is allowed). Otherwise what is wrong, in `why`.
 */
const wchar_t *parent_problem(PSECURITY_DESCRIPTOR sd, PSID self, wchar_t *why, size_t why_len);

/* Whether `file` is directly in `folder` (final paths as GetFinalPathNameByHandleW gives them; case ignored). */
int path_is_inside(const wchar_t *folder, const wchar_t *file);

/*
 * The log at `path` opened for appending, inheritable by nobody yet, after
 * making its folder root's (or checking that it is). INVALID_HANDLE_VALUE and
 * the reason in `why` otherwise; *error is a Win32 code for the SCM.
 */
HANDLE open_root_log(const wchar_t *path, wchar_t *why, size_t why_len, DWORD *error);

#endif
