import koffi, { type LibraryHandle } from "koffi";
import { type SecurityDescriptor, parseSddl } from "./sddl-windows.js";

/**
 * The Win32 security calls root and its clients need on Windows, through koffi
 * (already loaded there for LockFileEx and IsUserAnAdmin), each to its
 * documented signature (advapi32, kernel32). Node creates files with whatever
 * its folder passes down and cannot read or set an ACL, so what must be
 * private is created here with its security descriptor in the same call:
 * there is no moment at which another user could open it.
 */
export interface WindowsSecurity {
  /** The owner and DACL of a file or directory (GetNamedSecurityInfoW). */
  describe(path: string): SecurityDescriptor;
  /** CreateDirectoryW with this SDDL; false when something already has the name. */
  createDirectory(path: string, sddl: string): boolean;
  /** A new file (CREATE_NEW: never an existing one, never through a link) with this SDDL and these bytes. */
  createFile(path: string, data: string, sddl: string): void;
  /** An account's SID (LookupAccountNameW), or null when there is no such account. */
  accountSid(name: string): string | null;
  /** The user this process runs as (its token's TokenUser). */
  processUserSid(): string;
}

const OWNER_SECURITY_INFORMATION = 0x1;
const DACL_SECURITY_INFORMATION = 0x4;
const SE_FILE_OBJECT = 1;
const SDDL_REVISION_1 = 1;
const GENERIC_WRITE = 0x40000000;
const CREATE_NEW = 1;
const FILE_ATTRIBUTE_NORMAL = 0x80;
const TOKEN_QUERY = 0x8;
const TOKEN_USER = 1;
const ERROR_ALREADY_EXISTS = 183;

let loaded: WindowsSecurity | null = null;

/** Loaded at first use: the rest of the product runs on POSIX without touching advapi32. */
export function windowsSecurity(): WindowsSecurity {
  loaded ??= load();
  return loaded;
}

function load(): WindowsSecurity {
  const advapi32 = koffi.load("advapi32.dll");
  const kernel32 = koffi.load("kernel32.dll");
  const SA = koffi.struct("MKT_SECURITY_ATTRIBUTES", {
    nLength: "uint32_t",
    lpSecurityDescriptor: "void *",
    bInheritHandle: "int32_t",
  });
  type Spec = Parameters<typeof koffi.sizeof>[0];
  const fn = (lib: LibraryHandle, name: string, result: Spec, params: Spec[]) =>
    lib.func("__stdcall", name, result, params) as (...args: unknown[]) => unknown;
  const api = {
    toSd: fn(advapi32, "ConvertStringSecurityDescriptorToSecurityDescriptorW", "bool", [
      "str16",
      "uint32_t",
      "_Out_ void **",
      "_Out_ uint32_t *",
    ]),
    toSddl: fn(advapi32, "ConvertSecurityDescriptorToStringSecurityDescriptorW", "bool", [
      "void *",
      "uint32_t",
      "uint32_t",
      "_Out_ void **",
      "_Out_ uint32_t *",
    ]),
    getNamed: fn(advapi32, "GetNamedSecurityInfoW", "uint32_t", [
      "str16",
      "int",
      "uint32_t",
      "_Out_ void **",
      "_Out_ void **",
      "_Out_ void **",
      "_Out_ void **",
      "_Out_ void **",
    ]),
    lookup: fn(advapi32, "LookupAccountNameW", "bool", [
      "str16",
      "str16",
      "_Out_ uint8_t *",
      "_Inout_ uint32_t *",
      "_Out_ uint16_t *",
      "_Inout_ uint32_t *",
      "_Out_ int *",
    ]),
    sidToText: fn(advapi32, "ConvertSidToStringSidW", "bool", ["void *", "_Out_ void **"]),
    openToken: fn(advapi32, "OpenProcessToken", "bool", ["void *", "uint32_t", "_Out_ void **"]),
    tokenInfo: fn(advapi32, "GetTokenInformation", "bool", [
      "void *",
      "int",
      "_Out_ uint8_t *",
      "uint32_t",
      "_Out_ uint32_t *",
    ]),
    createDir: fn(kernel32, "CreateDirectoryW", "bool", ["str16", koffi.pointer(SA)]),
    createFile: fn(kernel32, "CreateFileW", "void *", [
      "str16",
      "uint32_t",
      "uint32_t",
      koffi.pointer(SA),
      "uint32_t",
      "uint32_t",
      "void *",
    ]),
    writeFile: fn(kernel32, "WriteFile", "bool", ["void *", "uint8_t *", "uint32_t", "_Out_ uint32_t *", "void *"]),
    close: fn(kernel32, "CloseHandle", "bool", ["void *"]),
    currentProcess: fn(kernel32, "GetCurrentProcess", "void *", []),
    localFree: fn(kernel32, "LocalFree", "void *", ["void *"]),
    lastError: fn(kernel32, "GetLastError", "uint32_t", []),
  };
  const text16 = (pointer: unknown) => {
    const text = koffi.decode(pointer, "char16_t", -1) as string;
    api.localFree(pointer);
    return text;
  };
  /** A security descriptor from SDDL, for one call; LocalFree'd after it. */
  const withSd = <T>(sddl: string, use: (attributes: object) => T): T => {
    const sd: unknown[] = [null];
    if (!api.toSd(sddl, SDDL_REVISION_1, sd, [0]))
      throw new Error(`bad SDDL ${sddl} (Windows error ${api.lastError()})`);
    try {
      return use({ nLength: koffi.sizeof(SA), lpSecurityDescriptor: sd[0], bInheritHandle: 0 });
    } finally {
      api.localFree(sd[0]);
    }
  };
  const sidText = (sid: unknown) => {
    const out: unknown[] = [null];
    if (!api.sidToText(sid, out)) throw new Error(`ConvertSidToStringSidW failed (Windows error ${api.lastError()})`);
    return text16(out[0]);
  };
  return {
    describe(path) {
      const sd: unknown[] = [null];
      const what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
      const error = api.getNamed(path, SE_FILE_OBJECT, what, [null], [null], [null], [null], sd) as number;
      if (error !== 0) throw new Error(`cannot read the security of ${path} (Windows error ${error})`);
      const out: unknown[] = [null];
      try {
        if (!api.toSddl(sd[0], SDDL_REVISION_1, what, out, [0]))
          throw new Error(`cannot describe the security of ${path} (Windows error ${api.lastError()})`);
      } finally {
        api.localFree(sd[0]);
      }
      return parseSddl(text16(out[0]));
    },
    createDirectory(path, sddl) {
      return withSd(sddl, (attributes) => {
        if (api.createDir(path, attributes)) return true;
        const error = api.lastError() as number;
        if (error === ERROR_ALREADY_EXISTS) return false;
        throw new Error(`cannot create ${path} (Windows error ${error})`);
      });
    },
    createFile(path, data, sddl) {
      withSd(sddl, (attributes) => {
        const handle = api.createFile(path, GENERIC_WRITE, 0, attributes, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, null);
        if (handle === null || koffi.address(handle) === BigInt.asUintN(64, -1n))
          throw new Error(`cannot create ${path} (Windows error ${api.lastError()})`);
        try {
          const bytes = Buffer.from(data);
          const written = [0];
          if (!api.writeFile(handle, bytes, bytes.length, written, null) || written[0] !== bytes.length)
            throw new Error(`cannot write ${path} (Windows error ${api.lastError()})`);
        } finally {
          api.close(handle);
        }
      });
    },
    accountSid(name) {
      const sid = Buffer.alloc(68);
      const domain = Buffer.alloc(512);
      if (!api.lookup(null, name, sid, [sid.length], domain, [domain.length / 2], [0])) return null;
      return sidText(sid);
    },
    processUserSid() {
      const token: unknown[] = [null];
      if (!api.openToken(api.currentProcess(), TOKEN_QUERY, token))
        throw new Error(`OpenProcessToken failed (Windows error ${api.lastError()})`);
      try {
        const info = Buffer.alloc(256);
        if (!api.tokenInfo(token[0], TOKEN_USER, info, info.length, [0]))
          throw new Error(`GetTokenInformation failed (Windows error ${api.lastError()})`);
        // TOKEN_USER starts with SID_AND_ATTRIBUTES, whose first member is the SID's address (inside `info`).
        return sidText(koffi.decode(info, "void *"));
      } finally {
        api.close(token[0]);
      }
    },
  };
}
