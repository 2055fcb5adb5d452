import koffi from "koffi";
import type { FileAccess } from "./file-access.js";
import type { HeldLock, LockPrimitive } from "./lock-primitive.js";

const GENERIC_READ = 0x80000000;
const FILE_SHARE_READ = 0x1;
const FILE_SHARE_WRITE = 0x2;
const FILE_SHARE_DELETE = 0x4;
const OPEN_ALWAYS = 4;
const FILE_ATTRIBUTE_NORMAL = 0x80;
const LOCKFILE_FAIL_IMMEDIATELY = 0x1;
const LOCKFILE_EXCLUSIVE_LOCK = 0x2;
const ERROR_LOCK_VIOLATION = 33;
const INVALID_HANDLE_VALUE = -1n;

/**
 * LockFileEx on byte 0 (length 1) of a handle opened for reading, as the Go
 * locks minikube uses (gofrs/flock, juju/fslock) do, so `minikube tunnel`
 * and we exclude each other. Node's descriptors are not Win32 handles, so
 * the file is opened through kernel32 directly. Not run on this project's
 * Linux CI; written to Microsoft's documented signatures.
 */
export class WindowsFileLock implements LockPrimitive {
  private readonly api: {
    CreateFileW: (
      name: string,
      access: number,
      share: number,
      security: null,
      disposition: number,
      flags: number,
      template: null,
    ) => unknown;
    LockFileEx: (
      handle: unknown,
      flags: number,
      reserved: number,
      low: number,
      high: number,
      overlapped: object,
    ) => boolean;
    UnlockFileEx: (handle: unknown, reserved: number, low: number, high: number, overlapped: object) => boolean;
    CloseHandle: (handle: unknown) => boolean;
    GetLastError: () => number;
  };

  constructor() {
    const kernel32 = koffi.load("kernel32.dll");
    const HANDLE = koffi.pointer("HANDLE", koffi.opaque());
    koffi.struct("OVERLAPPED", {
      Internal: "uintptr_t",
      InternalHigh: "uintptr_t",
      Offset: "uint32_t",
      OffsetHigh: "uint32_t",
      hEvent: "void *",
    });
    this.api = {
      CreateFileW: kernel32.func("__stdcall", "CreateFileW", HANDLE, [
        "str16",
        "uint32_t",
        "uint32_t",
        "void *",
        "uint32_t",
        "uint32_t",
        "void *",
      ]),
      LockFileEx: kernel32.func("__stdcall", "LockFileEx", "bool", [
        HANDLE,
        "uint32_t",
        "uint32_t",
        "uint32_t",
        "uint32_t",
        "_Inout_ OVERLAPPED *",
      ]),
      UnlockFileEx: kernel32.func("__stdcall", "UnlockFileEx", "bool", [
        HANDLE,
        "uint32_t",
        "uint32_t",
        "uint32_t",
        "_Inout_ OVERLAPPED *",
      ]),
      CloseHandle: kernel32.func("__stdcall", "CloseHandle", "bool", [HANDLE]),
      GetLastError: kernel32.func("__stdcall", "GetLastError", "uint32_t", []),
    } as WindowsFileLock["api"];
  }

  async tryLock(path: string, _files: FileAccess): Promise<HeldLock | null> {
    const handle = this.api.CreateFileW(
      path,
      GENERIC_READ,
      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
      null,
      OPEN_ALWAYS,
      FILE_ATTRIBUTE_NORMAL,
      null,
    );
    if (handle === null || koffi.address(handle) === BigInt.asUintN(64, INVALID_HANDLE_VALUE))
      throw new Error(`cannot open ${path} (Windows error ${this.api.GetLastError()})`);
    const overlapped = () => ({ Internal: 0, InternalHigh: 0, Offset: 0, OffsetHigh: 0, hEvent: null });
    if (!this.api.LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, overlapped())) {
      const error = this.api.GetLastError();
      this.api.CloseHandle(handle);
      if (error === ERROR_LOCK_VIOLATION) return null;
      throw new Error(`LockFileEx ${path} failed (Windows error ${error})`);
    }
    let released = false;
    return {
      path,
      // Opened for reading only, as minikube opens it: there is no marker on Windows.
      describe: async () => undefined,
      release: async () => {
        if (released) return;
        released = true;
        this.api.UnlockFileEx(handle, 0, 1, 0, overlapped());
        this.api.CloseHandle(handle);
      },
    };
  }
}
