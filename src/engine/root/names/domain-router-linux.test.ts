import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileRunner } from "../../system/command-runner.js";
import { DomainRouterLinux } from "./domain-router-linux.js";

const self = { pid: process.pid, started: "81234567" };
const ip = (...args: string[]) => execFileRunner.run("ip", args);
// Past the responder's candidates (mktdns0 to mktdns7): no other test's responder ever makes this one.
const FOREIGN = "mktdns9";

describe.skipIf(process.platform !== "linux" || process.getuid?.() !== 0)(
  "Linux: the responder's link, next to another process's (needs root)",
  () => {
    let runtime: string;
    beforeEach(async () => {
      runtime = await mkdtemp(join(tmpdir(), "mkt-domain-router-"));
    });
    afterEach(async () => {
      await ip("link", "del", "dev", FOREIGN);
      await rm(runtime, { recursive: true, force: true });
    });

    it("never deletes a link it did not make, though it has the responder's name", async () => {
      // Whichever kind this kernel makes, as the router itself tries them.
      let made = await ip("link", "add", FOREIGN, "type", "dummy");
      for (const kind of ["ifb", "bridge"])
        if (made.exitCode !== 0) made = await ip("link", "add", FOREIGN, "type", kind);
      expect(made.exitCode, made.stderr).toBe(0);
      const router = new DomainRouterLinux(self, runtime);
      await router.down(FOREIGN);
      expect((await ip("link", "show", "dev", FOREIGN)).exitCode).toBe(0);
      expect(await router.taken(FOREIGN)).toBe(true);
    });

    it("a link another root process recorded is taken, though it does not exist yet; its own record is not", async () => {
      const record = (link: string) =>
        JSON.stringify({ started: "1", link, address: `127.${64 + Number(link.slice(-1))}.255.255` });
      await writeFile(join(runtime, "wildcards-999999.json"), record("mktdns6"));
      await writeFile(join(runtime, `wildcards-${self.pid}.json`), record("mktdns5"));
      const router = new DomainRouterLinux(self, runtime);
      expect((await ip("link", "show", "dev", "mktdns6")).exitCode).not.toBe(0);
      expect(await router.taken("mktdns6")).toBe(true);
      expect(await router.taken("mktdns5")).toBe((await ip("link", "show", "dev", "mktdns5")).exitCode === 0);
    });
  },
);
