import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type KubeConfigReader,
  KubeConfigError,
  kubeConfigForProfile,
  kubeConfigPaths,
  kubeConfigReaderFor,
} from "./kube-config.js";

const plainReader: KubeConfigReader = kubeConfigReaderFor(null);

/** minikube's own kubeconfig entry shape (`minikube start` writes file paths, not data). */
const minikubeEntry = (name: string, server: string, dir: string) => `
clusters:
- cluster:
    certificate-authority: ${dir}/ca.crt
    server: ${server}
  name: ${name}
contexts:
- context:
    cluster: ${name}
    namespace: default
    user: ${name}
  name: ${name}
current-context: ${name}
kind: Config
users:
- name: ${name}
  user:
    client-certificate: profiles/${name}/client.crt
    client-key: profiles/${name}/client.key
`;

describe("kubeconfig for a profile", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-kubeconfig-"));
    await mkdir(join(dir, "profiles", "minikube"), { recursive: true });
    await writeFile(join(dir, "ca.crt"), "CA PEM");
    await writeFile(join(dir, "profiles", "minikube", "client.crt"), "CERT PEM");
    await writeFile(join(dir, "profiles", "minikube", "client.key"), "KEY PEM");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("follows KUBECONFIG's list, else ~/.kube/config", () => {
    expect(kubeConfigPaths({ KUBECONFIG: ["/a", "", "/b"].join(delimiter) })).toEqual(["/a", "/b"]);
    expect(kubeConfigPaths({})[0]).toMatch(/\.kube[\\/]config$/);
  });

  it("reads minikube's entry with its files inlined, relative paths from the kubeconfig's folder", async () => {
    const path = join(dir, "config");
    await writeFile(path, minikubeEntry("minikube", "https://192.168.49.2:8443", dir));
    const config = await kubeConfigForProfile("minikube", { KUBECONFIG: path }, plainReader);
    expect(config.getCurrentCluster()).toMatchObject({
      server: "https://192.168.49.2:8443",
      caData: Buffer.from("CA PEM").toString("base64"),
    });
    expect(config.getCurrentUser()).toMatchObject({
      certData: Buffer.from("CERT PEM").toString("base64"),
      keyData: Buffer.from("KEY PEM").toString("base64"),
    });
    expect(config.getCurrentUser()?.certFile ?? undefined).toBeUndefined();
  });

  it("merges as kubectl does: the first file that names an entry wins", async () => {
    const first = join(dir, "first");
    const second = join(dir, "second");
    await writeFile(first, minikubeEntry("minikube", "https://first:8443", dir));
    await writeFile(second, minikubeEntry("minikube", "https://second:8443", dir) + "\n");
    const config = await kubeConfigForProfile(
      "minikube",
      { KUBECONFIG: [join(dir, "missing"), first, second].join(delimiter) },
      plainReader,
    );
    expect(config.getCurrentCluster()?.server).toBe("https://first:8443");
  });

  it("reads a token file into the token", async () => {
    const path = join(dir, "config");
    await writeFile(join(dir, "token"), "s3cret\n");
    await writeFile(
      path,
      `clusters: [{name: c, cluster: {server: "https://x:6443"}}]\ncontexts: [{name: p, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token-file: token}}]\n`,
    );
    const config = await kubeConfigForProfile("p", { KUBECONFIG: path }, plainReader);
    expect(config.getCurrentUser()?.token).toBe("s3cret");
  });

  it("names what is missing", async () => {
    const path = join(dir, "config");
    await writeFile(path, minikubeEntry("minikube", "https://x:8443", dir));
    await expect(kubeConfigForProfile("other", { KUBECONFIG: path }, plainReader)).rejects.toThrow(
      /no context named "other"/,
    );
    await writeFile(path, `contexts: [{name: p, context: {cluster: gone, user: u}}]\n`);
    await expect(kubeConfigForProfile("p", { KUBECONFIG: path }, plainReader)).rejects.toThrow(/names cluster "gone"/);
    await writeFile(path, minikubeEntry("minikube", "https://x:8443", join(dir, "nowhere")));
    await expect(kubeConfigForProfile("minikube", { KUBECONFIG: path }, plainReader)).rejects.toThrow(KubeConfigError);
    await writeFile(path, "clusters: [unclosed");
    await expect(kubeConfigForProfile("minikube", { KUBECONFIG: path }, plainReader)).rejects.toThrow(
      /could not be read/,
    );
  });

  it("a normal user's exec plugin is kept (their own program, run as them)", async () => {
    const path = join(dir, "config");
    await writeFile(
      path,
      `clusters: [{name: c, cluster: {server: "https://x:6443"}}]\ncontexts: [{name: p, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: my-plugin}}}]\n`,
    );
    const config = await kubeConfigForProfile("p", { KUBECONFIG: path }, plainReader);
    expect(config.getCurrentUser()?.exec).toMatchObject({ command: "my-plugin" });
  });
});
