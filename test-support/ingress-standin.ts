import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What the stand-in says for a request: which Host it was routed by, as an ingress controller's rule would pick. */
export const standInReply = (host: string) => `ingress ${host}`;

/**
 * The server the stand-in runs (argv: address, certificate, key). Plain HTTP on 80 and TLS on 443, each answering
 * `ingress <host>` from the Host header without its port; "listening" once both listen.
 */
const SERVER = `
const [address, cert, key] = process.argv.slice(1);
const fs = require("fs");
const answer = (req, res) => {
  const host = String(req.headers.host ?? "").replace(/:\\d+$/, "");
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(${JSON.stringify(standInReply(""))} + host);
};
const http = require("http").createServer(answer);
const https = require("https").createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, answer);
let up = 0;
const ready = () => { if (++up === 2) console.log("listening"); };
http.listen(80, address, ready);
https.listen(443, address, ready);
`;

/**
 * A stand-in ingress controller in the lab's node namespace, as minikube's ingress addon runs ingress-nginx: its
 * hostPorts 80 and 443 on the node's address, routing by Host header (docs/architecture.md, "Tests"). TLS uses a
 * self-signed certificate made now with openssl (Node's crypto makes keys, not certificates) whose names are the
 * hosts given: a client that trusts `certificate` checks the name it asked for.
 */
export class IngressStandIn {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** The self-signed certificate, for `curl --cacert`. */
    readonly certificate: string,
  ) {}

  static async start(namespace: string, address: string, hosts: readonly string[]): Promise<IngressStandIn> {
    const dir = await mkdtemp(join(tmpdir(), "mkt-ingress-"));
    const certificate = join(dir, "tls.crt");
    const key = join(dir, "tls.key");
    try {
      await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        certificate,
        "-days",
        "2",
        "-subj",
        "/CN=ingress-standin",
        "-addext",
        `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}`,
      ]);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const child = spawn("ip", ["netns", "exec", namespace, process.execPath, "-e", SERVER, address, certificate, key], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const standIn = new IngressStandIn(child, dir, certificate);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`the stand-in ingress controller exited with ${code}`)));
      });
    } catch (error) {
      await standIn.stop();
      throw error;
    }
    return standIn;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGKILL");
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
