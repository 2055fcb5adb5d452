import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SimCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second client certificate signed by another CA: must be refused. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir });
}

/** CA, server and client certificates as minikube sets them up: the client is authenticated by its certificate. */
export async function makeCertificates(): Promise<SimCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "mkt-kubesim-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=minikubeCA",
  );
  await writeFile(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await openssl(dir, "req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=minikube");
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  await openssl(
    dir,
    "req",
    ...ec,
    "-keyout",
    "client.key",
    "-out",
    "client.csr",
    "-subj",
    "/O=system:masters/CN=minikube-user",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "client.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "client.crt",
    "-days",
    "2",
    "-extfile",
    "client.ext",
  );
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "stranger.key",
    "-out",
    "stranger.crt",
    "-days",
    "2",
    "-subj",
    "/CN=stranger",
  );
  const read = (f: string) => readFile(join(dir, f), "utf8");
  return {
    dir,
    caCert: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
    strangerCert: await read("stranger.crt"),
    strangerKey: await read("stranger.key"),
  };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A kubeconfig shaped like the one minikube writes: cluster, user and context all named after the profile. */
export function kubeconfigYaml(server: string, certs: SimCertificates, profile: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${b64(certs.caCert)}
    server: ${server}
  name: ${profile}
contexts:
- context:
    cluster: ${profile}
    namespace: default
    user: ${profile}
  name: ${profile}
current-context: ${profile}
preferences: {}
users:
- name: ${profile}
  user:
    client-certificate-data: ${b64(certs.clientCert)}
    client-key-data: ${b64(certs.clientKey)}
`;
}
