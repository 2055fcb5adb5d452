import { describe, expect, it } from "vitest";
import { serviceNames } from "../../access/names/profile-names.js";
import { blocksIn, renderBlock, withBlock } from "./hosts-block.js";

// Debian's default /etc/hosts, as its netbase package installs it.
const DEBIAN =
  "127.0.0.1\tlocalhost\n127.0.1.1\tvm\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";
const owner = { profile: "minikube", pid: 4242, started: "81234567" };
const web = { ip: "127.70.0.1", names: serviceNames("web", "default", "cluster.local") };

describe("the hosts file's managed block", () => {
  it("is added at the end, found again, replaced in place and removed, leaving every other byte", () => {
    const added = withBlock(DEBIAN, owner, [web]);
    expect(added).toBe(
      `${DEBIAN}# BEGIN minikube-tunnel profile=minikube pid=4242 started=81234567\n127.70.0.1 web.default.svc.cluster.local web.default\n# END minikube-tunnel profile=minikube\n`,
    );
    expect(blocksIn(added)).toEqual([{ ...owner, start: DEBIAN.length, end: added.length }]);
    const edited = added.replace("127.0.1.1\tvm", "127.0.1.1\tvm vm.local") + "10.0.0.9 printer\n";
    const replaced = withBlock(edited, owner, [
      web,
      { ip: "127.70.0.2", names: ["api.default.svc.cluster.local", "api.default"] },
    ]);
    expect(replaced.startsWith(edited.slice(0, edited.indexOf("# BEGIN")))).toBe(true);
    expect(replaced.endsWith("# END minikube-tunnel profile=minikube\n10.0.0.9 printer\n")).toBe(true);
    expect(withBlock(replaced, owner, null)).toBe(
      edited.replace(/# BEGIN[\s\S]*# END minikube-tunnel profile=minikube\n/, ""),
    );
  });

  it("keeps another profile's block and a file without a final newline or with CRLF (Windows) intact", () => {
    const other = withBlock(DEBIAN, { ...owner, profile: "dev" }, [{ ip: "127.90.0.1", names: ["db.data"] }]);
    const both = withBlock(other, owner, [web]);
    expect(blocksIn(both).map((b) => b.profile)).toEqual(["dev", "minikube"]);
    expect(withBlock(both, owner, null)).toBe(other);
    const windows =
      "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# localhost name resolution is handled within DNS itself.\r\n#\t127.0.0.1       localhost";
    const withOurs = withBlock(windows, owner, [web]);
    expect(withOurs).toBe(`${windows}\r\n${renderBlock(owner, [web], "\r\n")}`);
    expect(blocksIn(withOurs)).toHaveLength(1);
    expect(withBlock(withOurs, owner, null)).toBe(`${windows}\r\n`);
  });

  it("a begin marker without its end is not ours to remove", () => {
    const broken = `${DEBIAN}# BEGIN minikube-tunnel profile=minikube pid=1 started=1\n1.2.3.4 kept\n`;
    expect(blocksIn(broken)).toEqual([]);
    expect(withBlock(broken, owner, null)).toBe(broken);
  });
});
