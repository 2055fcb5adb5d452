import { describe, expect, it } from "vitest";
import type { CommandRunner } from "../../system/command-runner.js";
import { OpenSshLink } from "./openssh-link.js";
import { OpenSshSocksLink } from "./openssh-socks-link.js";
import { ChannelCarrier } from "./channel-carrier.js";
import { Ssh2Link } from "./ssh2-link.js";
import { chooseSshClient, createForwardLink } from "./forward-link.js";

const runner = (answer: { exitCode: number; stderr: string } | "missing"): CommandRunner => ({
  run: async () => {
    if (answer === "missing") throw new Error("spawn ssh ENOENT");
    return { stdout: "", ...answer };
  },
});
// `ssh -V` prints its version on stderr, as OpenSSH does.
const openssh = runner({ exitCode: 0, stderr: "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n" });
// What Windows 10's and 11's own ssh.exe (the OpenSSH Client feature) answers.
const windowsOpenssh = runner({ exitCode: 0, stderr: "OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2\r\n" });
const notOpenssh = runner({ exitCode: 0, stderr: "plink: Release 0.81\n" });

describe("which SSH client carries forward mode", () => {
  it("OpenSSH's master where ssh is OpenSSH and multiplexes (macOS, Linux)", async () => {
    expect(await chooseSshClient({}, "linux", openssh)).toBe("openssh");
    expect(await chooseSshClient({}, "darwin", openssh)).toBe("openssh");
  });

  it("on Windows, whose OpenSSH cannot multiplex, ssh.exe's -D with our listeners, which meets the goals that ssh2 misses", async () => {
    expect(await chooseSshClient({}, "win32", windowsOpenssh)).toBe("openssh-socks");
  });

  it("on Windows, an OpenSSH that is not Windows' own (Git for Windows' MSYS ssh first on PATH) leaves it to ssh2", async () => {
    const gitForWindows = runner({ exitCode: 0, stderr: "OpenSSH_9.9p1, OpenSSL 3.2.3 3 Sep 2024\n" });
    expect(await chooseSshClient({}, "win32", gitForWindows)).toBe("ssh2");
  });

  it("ssh2 where there is no ssh, or it is not OpenSSH", async () => {
    for (const platform of ["linux", "darwin", "win32"] as const) {
      expect(await chooseSshClient({}, platform, runner("missing"))).toBe("ssh2");
      expect(await chooseSshClient({}, platform, notOpenssh)).toBe("ssh2");
      expect(await chooseSshClient({}, platform, runner({ exitCode: 255, stderr: "OpenSSH_9.2p1\n" }))).toBe("ssh2");
    }
  });

  it("MKTUNNEL_SSH_CLIENT forces one, the new -D kind too; anything else is refused by name", async () => {
    expect(await chooseSshClient({ MKTUNNEL_SSH_CLIENT: "ssh2" }, "linux", openssh)).toBe("ssh2");
    expect(await chooseSshClient({ MKTUNNEL_SSH_CLIENT: "openssh" }, "win32", openssh)).toBe("openssh");
    expect(await chooseSshClient({ MKTUNNEL_SSH_CLIENT: "openssh-socks" }, "linux", runner("missing"))).toBe(
      "openssh-socks",
    );
    await expect(chooseSshClient({ MKTUNNEL_SSH_CLIENT: "putty" }, "linux", openssh)).rejects.toThrow(
      'MKTUNNEL_SSH_CLIENT must be openssh, openssh-socks or ssh2, not "putty"',
    );
  });

  it("each kind makes its link and carrier: the master carries itself, the others feed our own listeners", () => {
    const resolve = () => Promise.reject(new Error("not dialled here"));
    const master = createForwardLink("openssh", resolve);
    expect(master.link).toBeInstanceOf(OpenSshLink);
    expect(master.carrier).toBe(master.link);
    const socks = createForwardLink("openssh-socks", resolve);
    expect(socks.link).toBeInstanceOf(OpenSshSocksLink);
    expect(socks.carrier).toBeInstanceOf(ChannelCarrier);
    const ssh2 = createForwardLink("ssh2", resolve);
    expect(ssh2.link).toBeInstanceOf(Ssh2Link);
    expect(ssh2.carrier).toBeInstanceOf(ChannelCarrier);
  });
});
