import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { type UserIds, runnerAs } from "../system/owner-runner.js";

type Entry = { readonly name?: unknown } & Record<string, unknown>;

interface ConfigFile {
  readonly path: string;
  readonly clusters: readonly Entry[];
  readonly users: readonly Entry[];
  readonly contexts: readonly Entry[];
}

/**
 * How a kubeconfig and the files it names are read, fixed by who the
 * process acts for, never by the files themselves (a link or a /proc file
 * can make anything look root's).
 */
export interface KubeConfigReader {
  /** Whether the kubeconfig may make this process run a program (exec plugins, auth providers). */
  readonly runsPrograms: boolean;
  /** The file's text, or null when it does not exist. */
  read(path: string): Promise<string | null>;
}

const MISSING = 3;
/** Run as the acting user: the file's bytes on stdout, exit 3 when it does not exist. */
const READ_SCRIPT = `try { process.stdout.write(require("node:fs").readFileSync(process.argv[1])); } catch (e) { if (e.code === "ENOENT") process.exit(${MISSING}); process.stderr.write(e.message); process.exit(1); }`;

const ownReader: KubeConfigReader = {
  runsPrograms: true,
  read: (path) =>
    readFile(path, "utf8").catch((error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" ? null : Promise.reject(error),
    ),
};

/**
 * The reader for a process acting for `actingUser` (null: a normal user, for
 * themselves). Root acting for another user reads every file with that
 * user's rights, whoever the file says owns it, and runs nothing a user's
 * kubeconfig names (docs/security.md, "The root policy", row Commands root runs for a user).
 */
export function kubeConfigReaderFor(actingUser: UserIds | null): KubeConfigReader {
  if (actingUser === null || actingUser.uid === 0) return ownReader;
  const runner = runnerAs(actingUser);
  return {
    runsPrograms: false,
    async read(path) {
      const result = await runner.run(process.execPath, ["-e", READ_SCRIPT, "--", path], { timeoutMs: 10_000 });
      if (result.exitCode === MISSING) return null;
      if (result.exitCode !== 0) throw new Error(`${path}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
      return result.stdout;
    },
  };
}

/** Where a profile's kubeconfig comes from: the engine makes one for the user it acts for. */
export type KubeConfigSource = (profile: string) => Promise<KubeConfig>;

export function kubeConfigSource(actingUser: UserIds | null, env: NodeJS.ProcessEnv = process.env): KubeConfigSource {
  const reader = kubeConfigReaderFor(actingUser);
  return (profile) => kubeConfigForProfile(profile, env, reader);
}

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
  let document: unknown;
  try {
    const text = await reader.read(path);
    if (text === null) return null;
    document = parse(text);
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${path} could not be read: ${(error as Error).message.split("\n")[0]}`);
  }
  const doc = (typeof document === "object" && document !== null ? document : {}) as Record<string, unknown>;
  return { path, clusters: list(doc.clusters), users: list(doc.users), contexts: list(doc.contexts) };
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
 * read by the reader of the user the process acts for; client-node then
 * reads nothing from disk itself.
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
    const why = (reason: string) =>
      new KubeConfigError(`kubeconfig ${from.path} names ${fileKey} ${path}, which ${reason}`);
    const text = await reader
      .read(path)
      .catch((error: Error) => Promise.reject(why(`could not be read: ${error.message}`)));
    if (text === null) throw why("does not exist");
    out[dataKey] = dataKey === "token" ? text.trim() : Buffer.from(text).toString("base64");
  }
  return out;
}

/**
 * The context minikube names after the profile, from the standard
 * kubeconfig (KUBECONFIG, else ~/.kube/config), read by `reader`: as root
 * acting for another user, every file with that user's rights, and no
 * program a kubeconfig names is run (docs/security.md, "Commands root runs
 * for a user").
 */
export async function kubeConfigForProfile(
  profile: string,
  env: NodeJS.ProcessEnv = process.env,
  reader: KubeConfigReader = ownReader,
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
  if (user && !reader.runsPrograms) {
    const runs = ["exec", "auth-provider"].find((key) => userBody[key] !== undefined && userBody[key] !== null);
    if (runs) {
      throw new KubeConfigError(
        `kubeconfig ${user.file.path}: user "${String(user.entry.name)}" uses ${runs}, and root, acting for another user, does not run a program a user's kubeconfig names; use client certificates (minikube's default) or run mktunnel as that user with the helper installed`,
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
