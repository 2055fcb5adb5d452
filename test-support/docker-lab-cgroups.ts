import { lstat, readFile, readdir, readlink, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually } from "./eventually.js";

/** A mount under /sys/fs/cgroup as /proc/self/mountinfo shows it: the lab's daemon mounts the same again. */
interface CgroupMount {
  readonly mountPoint: string;
  readonly fstype: "tmpfs" | "cgroup" | "cgroup2";
  readonly superOptions: string;
}

const CGROUP_ROOT = "/sys/fs/cgroup";

async function cgroupMounts(): Promise<CgroupMount[]> {
  const mounts: CgroupMount[] = [];
  for (const line of (await readFile("/proc/self/mountinfo", "utf8")).split("\n")) {
    const [before, after] = line.split(" - ");
    const mountPoint = before?.split(" ")[4];
    const [fstype, , superOptions] = after?.split(" ") ?? [];
    if (!mountPoint || !superOptions || (mountPoint !== CGROUP_ROOT && !mountPoint.startsWith(`${CGROUP_ROOT}/`)))
      continue;
    if (fstype === "tmpfs" || fstype === "cgroup" || fstype === "cgroup2")
      mounts.push({ mountPoint, fstype, superOptions });
  }
  return mounts;
}

/** This process's cgroup in each hierarchy: `0::/path` for cgroup2, `4:memory:/path` for a v1 controller. */
async function ownCgroups(): Promise<{ controllers: string[]; path: string }[]> {
  return (await readFile("/proc/self/cgroup", "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, controllers = "", path = "/"] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
      return { controllers: controllers.split(",").filter(Boolean), path };
    });
}

async function ownPathIn(mount: CgroupMount): Promise<string | null> {
  const options = mount.superOptions.split(",");
  const own = (await ownCgroups()).find((c) =>
    mount.fstype === "cgroup2"
      ? c.controllers.length === 0
      : c.controllers.length > 0 && c.controllers.every((x) => options.includes(x)),
  );
  return own?.path ?? null;
}

/**
 * Shell lines that mount, in the daemon's own mount namespace, the cgroup
 * hierarchies this machine has: `ip netns exec` mounts a fresh /sys, where
 * /sys/fs/cgroup is empty and dockerd stops at "Devices cgroup isn't
 * mounted". The super options are copied as they are, because mounting
 * cgroup2 with other flags (nsdelegate…) would change them machine-wide; a
 * v1 release_agent can only be given by the first mount, so it is left out.
 */
export async function cgroupMountScript(): Promise<string[]> {
  const lines: string[] = [];
  for (const mount of await cgroupMounts()) {
    const options = mount.superOptions
      .split(",")
      .filter((o) => !o.startsWith("release_agent="))
      .join(",");
    if (mount.mountPoint !== CGROUP_ROOT) lines.push(`mkdir -p '${mount.mountPoint}'`);
    lines.push(`mount -t ${mount.fstype} -o '${options}' ${mount.fstype} '${mount.mountPoint}'`);
  }
  // Hosts with combined controllers link `cpu` to `cpu,cpuacct`; runc looks through mountinfo, but people look through
  // the links.
  const top = await cgroupMounts().then((m) => m.find((x) => x.mountPoint === CGROUP_ROOT));
  if (top?.fstype === "tmpfs") {
    for (const entry of await readdir(CGROUP_ROOT)) {
      const path = join(CGROUP_ROOT, entry);
      if ((await lstat(path)).isSymbolicLink()) lines.push(`ln -s '${await readlink(path)}' '${path}'`);
    }
  }
  return lines;
}

/**
 * The cgroup2 hierarchy (`/sys/fs/cgroup` or, on a hybrid host, `/sys/fs/cgroup/unified`) and this process's place in
 * it.
 */
export async function unifiedCgroup(): Promise<{ mountPoint: string; ownPath: string } | null> {
  const mount = (await cgroupMounts()).find((m) => m.fstype === "cgroup2");
  const ownPath = mount ? await ownPathIn(mount) : null;
  return mount && ownPath ? { mountPoint: mount.mountPoint, ownPath } : null;
}

/**
 * Every directory named `name` below this process's own cgroup, in every
 * hierarchy: the lab's tracking cgroup (cgroup2) and the containers'
 * `--cgroup-parent`, which runc takes relative to its own cgroup in each
 * v1 hierarchy (on this kind of host that is under our memory cgroup, not at
 * the top). Only these, named after the lab, are ever removed.
 */
export async function labCgroupDirs(name: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const mount of await cgroupMounts()) {
    if (mount.fstype === "tmpfs") continue;
    const own = await ownPathIn(mount);
    if (own !== null) dirs.push(join(mount.mountPoint, own, name));
  }
  return dirs;
}

async function subtree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const below = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => subtree(join(dir, e.name))));
  return [...below.flat(), dir];
}

/** Pids in a cgroup and every cgroup below it. */
export async function cgroupPids(dir: string): Promise<number[]> {
  const lists = await Promise.all(
    (await subtree(dir)).map((d) => readFile(join(d, "cgroup.procs"), "utf8").catch(() => "")),
  );
  return lists.flatMap((text) => text.split("\n").filter(Boolean).map(Number));
}

/** Whether `test` passes within `timeoutMs`: a problem to report, not an error to throw. */
function within(timeoutMs: number, test: () => Promise<boolean>): Promise<boolean> {
  return eventually(test, { timeoutMs, everyMs: 50 }).then(
    () => true,
    () => false,
  );
}

/**
 * Kills everything left in the lab's cgroups (containerd-shims, docker-proxy,
 * the containers' processes: all were born in the daemon's tracking cgroup,
 * whatever they did to their parentage) and removes the directories, deepest
 * first. cgroup.kill (Linux 5.14) also catches a process forking meanwhile.
 */
export async function removeCgroups(dirs: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const dir of dirs) {
    await writeFile(join(dir, "cgroup.kill"), "1").catch(async () => {
      for (const pid of await cgroupPids(dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    });
  }
  for (const dir of dirs) {
    if (!(await within(10_000, async () => (await cgroupPids(dir)).length === 0)))
      problems.push(`processes still in ${dir}: ${(await cgroupPids(dir)).join(" ")}`);
    for (const d of await subtree(dir)) {
      const removed = await within(5_000, () =>
        rmdir(d).then(
          () => true,
          (e: NodeJS.ErrnoException) => e.code === "ENOENT",
        ),
      );
      if (!removed) problems.push(`cannot remove ${d}`);
    }
  }
  return problems;
}
