import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestUser } from "../../../test-support/helper-lab.js";
import { KubeConfigError, kubeConfigSource } from "./kube-config.js";

const asRoot = process.getuid?.() === 0;
const run = promisify(execFile);

/**
 * Root reading a kubeconfig a user wrote (`sudo -E mktunnel start` with
 * their KUBECONFIG): the files it names are read with that user's rights,
 * and it cannot make root run a program.
 */
describe.skipIf(!asRoot)("attack: a user's kubeconfig read by root", () => {
  let user: TestUser;
  let dir: string;
  let home: string;
  let secret: string;

  beforeAll(async () => {
    user = await TestUser.create();
    dir = await mkdtemp(join(tmpdir(), "mkt-kc-root-"));
    await chmod(dir, 0o755);
    home = join(dir, "home");
    await mkdir(home);
    await chown(home, user.uid, user.gid);
    // Root's secret, which the user cannot read.
    await mkdir(join(dir, "private"), { mode: 0o700 });
    secret = join(dir, "private", "secret");
    await writeFile(secret, "root's secret\n", { mode: 0o600 });
  });
  afterAll(async () => {
    await user.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** Root acting for the user, as `sudo mktunnel` with their MINIPATH is. */
  const forUser = (profile: string, env: NodeJS.ProcessEnv) => kubeConfigSource(user, env)(profile);

  const userKubeconfig = async (userBody: string) => {
    const path = join(home, `config-${Math.random().toString(16).slice(2)}`);
    await writeFile(
      path,
      `clusters: [{name: c, cluster: {server: "https://attacker.example:6443"}}]\ncontexts: [{name: p, context: {cluster: c, user: u}}]\nusers: [{name: u, user: ${userBody}}]\n`,
    );
    await chown(path, user.uid, user.gid);
    return path;
  };

  it("a token-file naming root's secret is not sent as a token", async () => {
    const path = await userKubeconfig(`{token-file: ${secret}}`);
    await expect(forUser("p", { KUBECONFIG: path })).rejects.toThrow(
      /token-file .* could not be read: .*EACCES: permission denied/,
    );
  });

  it("a client key naming root's private file is not read", async () => {
    const path = await userKubeconfig(`{client-certificate: ${secret}, client-key: ${secret}}`);
    await expect(forUser("p", { KUBECONFIG: path })).rejects.toThrow(/EACCES: permission denied/);
  });

  it("an exec plugin or auth provider is refused, with what to do instead", async () => {
    const exec = await userKubeconfig(
      `{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, "touch ${join(dir, "private", "owned")}"]}}`,
    );
    await expect(forUser("p", { KUBECONFIG: exec })).rejects.toThrow(
      /uses exec, and root, acting for another user, does not run a program a user's kubeconfig names/,
    );
    const provider = await userKubeconfig(`{auth-provider: {name: oidc}}`);
    await expect(forUser("p", { KUBECONFIG: provider })).rejects.toBeInstanceOf(KubeConfigError);
  });

  it("the user's own files are read", async () => {
    await writeFile(join(home, "token"), "user-token");
    await chown(join(home, "token"), user.uid, user.gid);
    await chmod(join(home, "token"), 0o600);
    const path = await userKubeconfig(`{token-file: token}`);
    expect((await forUser("p", { KUBECONFIG: path })).getCurrentUser()?.token).toBe("user-token");
  });

  it("root's own kubeconfig keeps its exec plugin, when root acts for itself", async () => {
    const path = join(dir, "private", "root-config");
    await writeFile(
      path,
      `clusters: [{name: c, cluster: {server: "https://x:6443"}}]\ncontexts: [{name: p, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: root-plugin}}}]\n`,
    );
    const own = await kubeConfigSource({ uid: 0, gid: 0 }, { KUBECONFIG: path })("p");
    expect(own.getCurrentUser()?.exec).toMatchObject({ command: "root-plugin" });
  });

  it("a link from the user's kubeconfig to a root-owned file whose words the user chose (as /proc/<pid>/cmdline is) runs nothing", async () => {
    // Root-owned and readable by anyone, with content the user wrote: what a non-dumpable process's cmdline gives them.
    const rootOwned = join(dir, "root-owned-config");
    await writeFile(
      rootOwned,
      `clusters: [{name: c, cluster: {server: "https://x:6443"}}]\ncontexts: [{name: p, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]\n`,
      { mode: 0o644 },
    );
    const link = join(home, "config-link");
    await symlink(rootOwned, link);
    await run("chown", ["-h", `${user.uid}:${user.gid}`, link]);
    await expect(forUser("p", { KUBECONFIG: link })).rejects.toThrow(/uses exec/);
  });
});
