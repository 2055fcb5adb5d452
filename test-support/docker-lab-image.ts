import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BUNDLE_DIR } from "./bundles.js";

const run = promisify(execFile);

/**
 * What the node needs: sshd for the link, socat for test servers (UDP echo), ip and ps to look around, and dnsmasq, a
 * DNS server in the node for forward mode's UDP tests.
 */
export const NODE_PACKAGES = ["openssh-server", "socat", "iproute2", "procps", "dnsmasq-base"] as const;

/**
 * Run inside the finished root. Host keys are left out so every container
 * makes its own at first start, as a minikube node has its own; `-p '*'`
 * leaves the account unlocked (sshd refuses a `!` password even for keys);
 * PAM is off because pam_loginuid needs CAP_AUDIT_CONTROL, which an
 * unprivileged container lacks, and sshd reads the drop-in before Debian's
 * `UsePAM yes` (the first value wins).
 */
const CUSTOMIZE = [
  'rm -f "$1"/etc/ssh/ssh_host_*',
  'chroot "$1" useradd -m -p "*" -s /bin/bash docker',
  'chroot "$1" install -d -m 700 -o docker -g docker /home/docker/.ssh',
  "printf 'UsePAM no\\nPasswordAuthentication no\\nKbdInteractiveAuthentication no\\nAllowTcpForwarding yes\\n' > \"$1\"/etc/ssh/sshd_config.d/mkt-lab.conf",
];

/** Man pages, docs and translations are a third of the root and nothing in a test reads them. */
const EXCLUDED = ["/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*"];

/**
 * `ssh-keygen -A` at every start only fills in missing keys, so a restarted node keeps its host keys, as minikube's
 * does.
 */
export const NODE_COMMAND = ["/bin/sh", "-c", "mkdir -p /run/sshd && ssh-keygen -A && exec /usr/sbin/sshd -D -e"];

export interface NodeImage {
  readonly tarball: string;
  readonly tag: string;
  readonly built: boolean;
  readonly buildMs: number;
}

async function codename(): Promise<string> {
  const release = await readFile("/etc/os-release", "utf8");
  const name = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(release)?.[2];
  if (!name)
    throw new Error("no VERSION_CODENAME in /etc/os-release: cannot tell which suite to bootstrap the node from");
  return name;
}

interface Source {
  readonly types: string[];
  readonly uris: string[];
  readonly suites: string[];
  readonly components: string[];
  readonly signedBy?: string;
}

function deb822(text: string): Source[] {
  return text.split(/\n\s*\n/).flatMap((paragraph) => {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "mi").exec(paragraph)?.[1]?.trim();
    if (/^Enabled:\s*no\s*$/im.test(paragraph) || !field("URIs")) return [];
    const words = (name: string) => (field(name) ?? "").split(/\s+/).filter(Boolean);
    const signedBy = field("Signed-By");
    return [
      {
        types: words("Types"),
        uris: words("URIs"),
        suites: words("Suites"),
        components: words("Components"),
        ...(signedBy?.startsWith("/") ? { signedBy } : {}),
      },
    ];
  });
}

function oneLine(text: string): Source[] {
  return text.split("\n").flatMap((line) => {
    const match = /^\s*(deb)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) return [];
    const signedBy = /signed-by=(\S+)/.exec(match[2] ?? "")?.[1];
    return [
      {
        types: ["deb"],
        uris: [match[3]!],
        suites: [match[4]!],
        components: match[5]!.split(/\s+/).filter(Boolean),
        ...(signedBy ? { signedBy } : {}),
      },
    ];
  });
}

/**
 * The machine's own apt sources for this release (`bookworm`,
 * `bookworm-updates`, `bookworm-security`), as one-line entries for
 * mmdebstrap: the node comes from the mirror apt already uses, and other
 * vendors' repositories (their keys are not in the new root) stay out.
 */
async function aptSources(suite: string): Promise<string[]> {
  const files = [
    "/etc/apt/sources.list",
    ...(await readdir("/etc/apt/sources.list.d").catch(() => [] as string[])).map((f) =>
      join("/etc/apt/sources.list.d", f),
    ),
  ];
  const sources: Source[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (file.endsWith(".sources")) sources.push(...deb822(text));
    else if (file.endsWith(".list")) sources.push(...oneLine(text));
  }
  const lines = new Set<string>();
  for (const source of sources) {
    if (!source.types.includes("deb")) continue;
    for (const uri of source.uris)
      for (const s of source.suites.filter((s) => s === suite || s.startsWith(`${suite}-`))) {
        lines.add(
          `deb ${source.signedBy ? `[signed-by=${source.signedBy}] ` : ""}${uri} ${s} ${source.components.join(" ")}`,
        );
      }
  }
  if (lines.size === 0)
    throw new Error(`no apt source for ${suite} in /etc/apt/sources.list*: cannot bootstrap the lab node`);
  return [...lines];
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * The node's root file system as a tarball for `docker import`, so no
 * registry is involved. Built once per recipe (suite, packages, hooks) and
 * kept in test-support/.build, where later runs find it.
 */
export async function nodeImage(log: (line: string) => void = () => undefined): Promise<NodeImage> {
  const suite = await codename();
  const recipe = JSON.stringify({ suite, packages: NODE_PACKAGES, customize: CUSTOMIZE, excluded: EXCLUDED });
  const key = createHash("sha256").update(recipe).digest("hex").slice(0, 12);
  const tarball = join(BUNDLE_DIR, `docker-lab-node-${suite}-${key}.tar`);
  const tag = `mkt-lab-node:${key}`;
  if (await exists(tarball)) return { tarball, tag, built: false, buildMs: 0 };

  const started = performance.now();
  await mkdir(BUNDLE_DIR, { recursive: true });
  // mmdebstrap's own temp directory and bind mounts: in a directory and a mount namespace of ours, gone even if it
  // crashes.
  const work = await mkdtemp(join(tmpdir(), "mkt-dk-build-"));
  const partial = join(BUNDLE_DIR, `.docker-lab-node-${process.pid}-${key}.tar`);
  try {
    const args = [
      "-m",
      "--propagation",
      "private",
      "mmdebstrap",
      "--quiet",
      "--variant=essential",
      `--include=${NODE_PACKAGES.join(",")}`,
      ...EXCLUDED.map((path) => `--dpkgopt=path-exclude=${path}`),
      ...CUSTOMIZE.map((hook) => `--customize-hook=${hook}`),
      suite,
      partial,
      ...(await aptSources(suite)),
    ];
    log(`[docker-lab] building the node image (${suite}: ${NODE_PACKAGES.join(", ")}) into ${tarball}`);
    await run("unshare", args, {
      env: { ...process.env, TMPDIR: work },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`mmdebstrap failed: ${(error.stderr ?? error.message).trim().split("\n").slice(-5).join("\n")}`);
    });
    await rename(partial, tarball);
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
  return { tarball, tag, built: true, buildMs: Math.round(performance.now() - started) };
}
