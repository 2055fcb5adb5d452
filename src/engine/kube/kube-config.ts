import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { type UserIds, isPosixRoot, runnerAs } from "../system/owner-runner.js";

type Entry = { readonly name?: unknown } & Record<string, unknown>;

interface ConfigFile {
  readonly path: string;
  readonly owner: UserIds;
  readonly clusters: readonly Entry[];
  readonly users: readonly Entry[];
  readonly contexts: readonly Entry[];
}

/** How a kubeconfig and the files it names are read: root reads a user's files as that user. */
export interface KubeConfigReader {
  readonly isRoot: boolean;
  read(path: string, owner: UserIds): Promise<string>;
}

const asUserReader: KubeConfigReader = {
  isRoot: isPosixRoot(),
  async read(path, owner) {
    // Root reads its own files itself; a user's only with that user's rights, so a kubeconfig cannot make root read
    // what its author could not.
    if (!this.isRoot || owner.uid === 0) return readFile(path, "utf8");
    const result = await runnerAs(owner).run("cat", ["--", path], { timeoutMs: 10_000 });
    if (result.exitCode !== 0) throw new Error(`${path}: ${result.stderr.trim() || `cat exited ${result.exitCode}`}`);
    return result.stdout;
  },
};

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeConfigError";
  }
}

/** KUBECONFIG's files in order, else ~/.kube/config (kubectl's rule). */
export function kubeConfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  return listed.length > 0 ? listed : [join(homedir(), ".kube", "config")];
}

const list = (value: unknown): Entry[] =>
  Array.isArray(value) ? value.filter((e): e is Entry => typeof e === "object" && e !== null) : [];

async function loadFile(path: string, reader: KubeConfigReader): Promise<ConfigFile | null> {
  let owner: UserIds;
  try {
    const info = await stat(path);
    owner = { uid: info.uid, gid: info.gid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let document: unknown;
  try {
    document = parse(await reader.read(path, owner));
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${path} could not be read: ${(error as Error).message.split("\n")[0]}`);
  }
  const doc = (typeof document === "object" && document !== null ? document : {}) as Record<string, unknown>;
  return { path, owner, clusters: list(doc.clusters), users: list(doc.users), contexts: list(doc.contexts) };
}

/** kubectl's merge: the first file that names a context, cluster or user wins. */
function firstNamed(
  files: readonly ConfigFile[],
  kind: "clusters" | "users" | "contexts",
  name: unknown,
): { file: ConfigFile; entry: Entry } | null {
  for (const file of files) {
    const entry = file[kind].find((e) => e.name === name);
    if (entry) return { file, entry };
  }
  return null;
}

type FileField = readonly [file: string, data: string];

/**
 * Inlines the files an entry names (relative to its kubeconfig's folder),
 * read with the rights of the kubeconfig's owner; client-node then reads
 * nothing from disk itself.
 */
async function inline(
  body: Record<string, unknown>,
  fields: readonly FileField[],
  from: ConfigFile,
  reader: KubeConfigReader,
): Promise<Record<string, unknown>> {
  const out = { ...body };
  for (const [fileKey, dataKey] of fields) {
    const named = out[fileKey];
    delete out[fileKey];
    if (typeof named !== "string" || named === "" || out[dataKey]) continue;
    const path = isAbsolute(named) ? named : resolve(dirname(from.path), named);
    const text = await reader.read(path, from.owner).catch((error: Error) => {
      throw new KubeConfigError(
        `kubeconfig ${from.path} names ${fileKey} ${path}, which could not be read: ${error.message}`,
      );
    });
    out[dataKey] = dataKey === "token" ? text.trim() : Buffer.from(text).toString("base64");
  }
  return out;
}

/**
 * The context minikube names after the profile, from the standard
 * kubeconfig (KUBECONFIG, else ~/.kube/config). As root, a kubeconfig a
 * user owns is that user's word: its files are read as that user, and it
 * cannot make root run a program (exec credential plugins, auth providers)
 * (docs/security.md, "Commands root runs for a user").
 */
export async function kubeConfigForProfile(
  profile: string,
  env: NodeJS.ProcessEnv = process.env,
  reader: KubeConfigReader = asUserReader,
): Promise<KubeConfig> {
  const files = (await Promise.all(kubeConfigPaths(env).map((path) => loadFile(path, reader)))).filter(
    (f): f is ConfigFile => f !== null,
  );
  const context = firstNamed(files, "contexts", profile);
  if (!context)
    throw new KubeConfigError(
      `kubeconfig has no context named "${profile}" (minikube names the context after the profile)`,
    );
  const body = (context.entry.context ?? {}) as Record<string, unknown>;
  const cluster = firstNamed(files, "clusters", body.cluster);
  if (!cluster)
    throw new KubeConfigError(
      `kubeconfig context "${profile}" names cluster "${String(body.cluster)}", which no kubeconfig file defines`,
    );
  const user = firstNamed(files, "users", body.user);
  const userBody = (user?.entry.user ?? {}) as Record<string, unknown>;
  if (user && reader.isRoot && user.file.owner.uid !== 0) {
    const runs = ["exec", "auth-provider"].find((key) => userBody[key] !== undefined && userBody[key] !== null);
    if (runs) {
      throw new KubeConfigError(
        `kubeconfig ${user.file.path} belongs to uid ${user.file.owner.uid} and its user "${String(user.entry.name)}" uses ${runs}: root does not run a program a user's kubeconfig names; use client certificates (minikube's default) or run mktunnel as that user with the helper installed`,
      );
    }
  }
  const clusterBody = await inline(
    (cluster.entry.cluster ?? {}) as Record<string, unknown>,
    [["certificate-authority", "certificate-authority-data"]],
    cluster.file,
    reader,
  );
  const userInlined = user
    ? await inline(
        userBody,
        [
          ["client-certificate", "client-certificate-data"],
          ["client-key", "client-key-data"],
          ["token-file", "token"],
        ],
        user.file,
        reader,
      )
    : {};
  const config = new KubeConfig();
  config.loadFromString(
    JSON.stringify({
      clusters: [{ name: cluster.entry.name, cluster: clusterBody }],
      users: user ? [{ name: user.entry.name, user: userInlined }] : [],
      contexts: [{ name: profile, context: body }],
      "current-context": profile,
    }),
  );
  return config;
}
