// The client side of the Ingress benchmark (bench/ingress-bench.ts), run in the lab's host namespace with the
// benchmark's private /etc, where the simulator and the tunnel run: it creates objects on the simulator as a user
// would (one API request each, plus the status a controller writes) and looks their names up as any program there
// does, through glibc's getaddrinfo, which reads /etc/hosts on every call. One JSON request a line on stdin, one JSON
// answer a line on stdout; every duration is measured here, so no process start is in a figure.
import { lookup } from "node:dns/promises";
import { get } from "node:http";
import { createInterface } from "node:readline";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../src/engine/kube/kube-http.js";
import type { KubeObject } from "../test-support/kube-sim/object-store.js";
import { KINDS } from "../test-support/kube-sim/resource-kinds.js";

type Request =
  | { op: "sample"; objects: KubeObject[]; host: string; address: string; reply: string }
  | { op: "bulk"; objects: KubeObject[]; hosts: Record<string, string | null> }
  | { op: "counts"; reset: boolean };

const [kubeconfig = ""] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig);
const api = await KubeHttp.fromKubeConfig(config, { maxSockets: 16 });
const byKind = new Map(Object.values(KINDS).map((k) => [k.kind, k]));
/** Between two looks at a name not there yet: fine enough against a 1 s goal, light enough to leave the cores alone. */
const POLL_MS = 5;
const pause = () => new Promise((r) => setTimeout(r, POLL_MS));

function collectionPath(object: KubeObject): string {
  const kind = byKind.get(object.kind);
  if (!kind) throw new Error(`no kind ${object.kind} in the simulator`);
  const base = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  return kind.namespaced
    ? `${base}/namespaces/${object.metadata.namespace ?? "default"}/${kind.plural}`
    : `${base}/${kind.plural}`;
}

/** The object as a user creates it, then its status as its controller (or the kubelet) writes it. */
async function create(object: KubeObject): Promise<void> {
  const { status, ...spec } = object;
  const path = collectionPath(object);
  await api.call("POST", path, spec);
  if (status !== undefined)
    await api.call("PATCH", `${path}/${object.metadata.name}/status`, { status }, "application/merge-patch+json");
}

async function createAll(objects: readonly KubeObject[], inFlight = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < objects.length) await create(objects[next++]!);
    }),
  );
}

/** `address` null: any address will do. */
const resolvesTo = (host: string, address: string | null) =>
  lookup(host, { family: 4 }).then(
    (r) => address === null || r.address === address,
    () => false,
  );

const answer = (host: string) =>
  new Promise<string>((resolve) => {
    const req = get({ host, port: 80, path: "/", agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
      res.on("error", () => resolve(""));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(""));
  });

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case "sample": {
      const t0 = performance.now();
      await createAll(request.objects, 1);
      const created = performance.now();
      while (!(await resolvesTo(request.host, request.address))) await pause();
      const resolved = performance.now();
      while ((await answer(request.host)) !== request.reply) await pause();
      const answered = performance.now();
      return { createdMs: created - t0, resolvedMs: resolved - t0, answeredMs: answered - t0 };
    }
    case "bulk": {
      const t0 = performance.now();
      await createAll(request.objects);
      const created = performance.now();
      let pending = Object.entries(request.hosts);
      while (pending.length > 0) {
        const resolved = await Promise.all(pending.map(([h, a]) => resolvesTo(h, a)));
        pending = pending.filter((_, i) => !resolved[i]);
        if (pending.length > 0) await pause();
      }
      return { createdMs: created - t0, allResolvedMs: performance.now() - t0 };
    }
    case "counts":
      return (await api.call(request.reset ? "POST" : "GET", "/kubesim/counts")).body;
  }
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  try {
    process.stdout.write(`${JSON.stringify({ ok: await handle(JSON.parse(line) as Request) })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
  }
}
