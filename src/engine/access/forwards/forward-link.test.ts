import { describe, expect, it } from "vitest";
import type { CommandRunner } from "../../system/command-runner.js";
import { chooseSshClient } from "./forward-link.js";

const runner = (answer: { exitCode: number; stderr: string } | "missing"): CommandRunner => ({
  run: async () => {
    if (answer === "missing") throw new Error("spawn ssh ENOENT");
    return { stdout: "", ...answer };
  },
});
// `ssh -V` prints its version on stderr, as OpenSSH does.
const openssh = runner({ exitCode: 0, stderr: "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n" });

describe("which SSH client carries forward mode", () => {
  it("OpenSSH's master where ssh is OpenSSH (macOS, Linux); ssh2 on Windows, whose OpenSSH cannot multiplex, and where there is no ssh", async () => {
    expect(await chooseSshClient({}, "linux", openssh)).toBe("openssh");
    expect(await chooseSshClient({}, "darwin", openssh)).toBe("openssh");
    expect(await chooseSshClient({}, "win32", openssh)).toBe("ssh2");
    expect(await chooseSshClient({}, "linux", runner("missing"))).toBe("ssh2");
  });

  it("MKTUNNEL_SSH_CLIENT forces one; anything else is refused by name", async () => {
    expect(await chooseSshClient({ MKTUNNEL_SSH_CLIENT: "ssh2" }, "linux", openssh)).toBe("ssh2");
    expect(await chooseSshClient({ MKTUNNEL_SSH_CLIENT: "openssh" }, "win32", openssh)).toBe("openssh");
    await expect(chooseSshClient({ MKTUNNEL_SSH_CLIENT: "putty" }, "linux", openssh)).rejects.toThrow(
      'MKTUNNEL_SSH_CLIENT must be openssh or ssh2, not "putty"',
    );
  });
});
