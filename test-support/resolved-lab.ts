import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually } from "./eventually.js";
import type { NetnsLab } from "./netns-lab.js";

const run = promisify(execFile);

/**
 * Where .ci/run unpacks Debian's systemd-resolved when it is not installed (installing it would take over this
 * machine's resolv.conf).
 */
export const UNPACKED_RESOLVED = join(import.meta.dirname, ".build", "systemd-resolved");

export function resolvedBinary(): string | null {
  for (const path of [
    "/lib/systemd/systemd-resolved",
    "/usr/lib/systemd/systemd-resolved",
    join(UNPACKED_RESOLVED, "lib", "systemd", "systemd-resolved"),
  ])
    if (existsSync(path)) return path;
  return null;
}

export function resolvedUnavailableReason(): string | null {
  if (!resolvedBinary())
    return "no systemd-resolved binary (.ci/run unpacks Debian's into test-support/.build/systemd-resolved)";
  for (const tool of ["/usr/bin/dbus-daemon", "/usr/bin/busctl", "/usr/sbin/dnsmasq"])
    if (!existsSync(tool)) return `${tool} is missing`;
  return null;
}

/** The account resolved drops to; it exists only in resolved's private mount namespace. */
const RESOLVE_UID = 4244;

/**
 * A real systemd-resolved for the lab's host namespace, on a private D-Bus
 * system bus (its own dbus-daemon and socket), in a private mount namespace
 * (its own /run, and the systemd-resolve user only there). It reads a
 * resolved.conf with no upstream DNS, LLMNR or mDNS, so it sends nothing
 * anywhere but where a link tells it. Clients reach it through
 * DBUS_SYSTEM_BUS_ADDRESS and, for lookups, 127.0.0.53 in the host namespace.
 */
export class ResolvedLab {
  private readonly children: ChildProcess[] = [];

  private constructor(
    private readonly lab: NetnsLab,
    readonly dir: string,
  ) {}

  get busAddress(): string {
    return `unix:path=${join(this.dir, "system_bus_socket")}`;
  }

  static async start(lab: NetnsLab): Promise<ResolvedLab> {
    const dir = await mkdtemp(join(tmpdir(), "mkt-resolved-"));
    // resolved connects to the bus after dropping to its own user.
    await chmod(dir, 0o755);
    const resolved = new ResolvedLab(lab, dir);
    try {
      await resolved.setUp();
    } catch (error) {
      await resolved.stop();
      throw error;
    }
    return resolved;
  }

  private async setUp(): Promise<void> {
    const etc = join(this.dir, "etc");
    await mkdir(etc);
    const lines = {
      passwd: `systemd-resolve:x:${RESOLVE_UID}:${RESOLVE_UID}::/run/systemd/resolve:/usr/sbin/nologin\n`,
      group: `systemd-resolve:x:${RESOLVE_UID}:\n`,
      shadow: "systemd-resolve:*:19000:0:99999:7:::\n",
    };
    for (const [name, line] of Object.entries(lines))
      await writeFile(join(etc, name), (await readFile(`/etc/${name}`, "utf8")).replace(/\n?$/, "\n") + line);
    await writeFile(
      join(etc, "resolved.conf"),
      "[Resolve]\nDNS=\nFallbackDNS=\nLLMNR=no\nMulticastDNS=no\nDNSSEC=no\nDNSStubListener=yes\n",
    );
    await writeFile(join(etc, "resolv.conf"), "nameserver 127.0.0.53\n");
    await writeFile(
      join(this.dir, "bus.conf"),
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>${this.busAddress}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>\n`,
    );
    const script = [
      "set -e",
      ...["passwd", "group", "shadow"].map((f) => `mount --bind ${etc}/${f} /etc/${f}`),
      // resolved reads /etc/resolv.conf to decide whether it is "foreign"; ours points at its own stub.
      `mount --bind ${etc}/resolv.conf /etc/resolv.conf`,
      "mount -t tmpfs tmpfs /run",
      "mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d",
      // resolved.conf(5): drop-ins in /run/systemd/resolved.conf.d are read too; /etc/systemd/resolved.conf may not
      // exist here.
      `cp ${etc}/resolved.conf /run/systemd/resolved.conf.d/lab.conf`,
      `chown ${RESOLVE_UID}:${RESOLVE_UID} /run/systemd/resolve`,
      // The bus daemon shares this namespace, so it knows resolved's user when it authenticates.
      `dbus-daemon --fork --config-file=${join(this.dir, "bus.conf")} --print-pid=3 3>${join(this.dir, "bus.pid")}`,
      `exec ${resolvedBinary()}`,
    ].join("\n");
    const libDir = join(UNPACKED_RESOLVED, "usr", "lib", "x86_64-linux-gnu", "systemd");
    const child = spawn(
      "ip",
      ["netns", "exec", this.lab.host, "unshare", "-m", "--propagation", "private", "sh", "-c", script],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: {
          ...process.env,
          DBUS_SYSTEM_BUS_ADDRESS: this.busAddress,
          SYSTEMD_LOG_LEVEL: process.env.DBG ? "debug" : "warning",
          ...(existsSync(libDir) ? { LD_LIBRARY_PATH: libDir } : {}),
        },
      },
    );
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    this.children.push(child);
    const ping = () =>
      this.busctl(
        "call",
        "org.freedesktop.resolve1",
        "/org/freedesktop/resolve1",
        "org.freedesktop.DBus.Peer",
        "Ping",
      ).then(
        () => "answers",
        (e: Error) => (process.env.DBG && console.log(e.message, stderr), false),
      );
    const outcome = await eventually(async () => (child.exitCode !== null ? "exited" : await ping()), {
      timeoutMs: 10_000,
      everyMs: 50,
      what: "systemd-resolved on the bus",
    });
    if (outcome === "exited") throw new Error(`systemd-resolved exited: ${stderr}`);
  }

  busctl(...args: string[]): Promise<string> {
    return run("busctl", ["--system", ...args], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.busAddress },
    }).then((r) => r.stdout);
  }

  /** The DNS servers resolved holds for a link of the host namespace. */
  async linkServers(dev: string): Promise<string> {
    const { stdout } = await run("ip", ["-n", this.lab.host, "-j", "link", "show", "dev", dev]);
    const ifindex = (JSON.parse(stdout) as { ifindex: number }[])[0]!.ifindex;
    const path = JSON.parse(
      await this.busctl(
        "--json=short",
        "call",
        "org.freedesktop.resolve1",
        "/org/freedesktop/resolve1",
        "org.freedesktop.resolve1.Manager",
        "GetLink",
        "i",
        String(ifindex),
      ),
    ).data[0];
    const dns = JSON.parse(
      await this.busctl(
        "--json=short",
        "get-property",
        "org.freedesktop.resolve1",
        path,
        "org.freedesktop.resolve1.Link",
        "DNS",
      ),
    ).data as [number, number[]][];
    return dns.map(([, bytes]) => bytes.join(".")).join(" ");
  }

  /** What a crash of the tunnel and its helper would leave: nothing on the link (the link went away and came back). */
  async revertLink(dev: string): Promise<void> {
    const { stdout } = await run("ip", ["-n", this.lab.host, "-j", "link", "show", "dev", dev]);
    const ifindex = (JSON.parse(stdout) as { ifindex: number }[])[0]!.ifindex;
    await this.busctl(
      "call",
      "org.freedesktop.resolve1",
      "/org/freedesktop/resolve1",
      "org.freedesktop.resolve1.Manager",
      "RevertLink",
      "i",
      String(ifindex),
    );
  }

  async stop(): Promise<void> {
    for (const child of this.children.reverse()) child.kill("SIGKILL");
    const bus = Number(await readFile(join(this.dir, "bus.pid"), "utf8").catch(() => ""));
    if (bus > 0) process.kill(bus, "SIGKILL");
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** dnsmasq in the node namespace at kube-dns's address, answering fixed records as CoreDNS would. */
export async function startClusterDns(
  lab: NetnsLab,
  address: string,
  records: Record<string, string>,
): Promise<ChildProcess> {
  await lab.addServiceAddress(address);
  const args = [
    "--no-daemon",
    "--no-resolv",
    "--no-hosts",
    "--user=root",
    "--pid-file=",
    `--listen-address=${address}`,
    "--bind-interfaces",
    "--port=53",
    ...Object.entries(records).map(([name, ip]) => `--host-record=${name},${ip}`),
  ];
  const child = spawn("ip", ["netns", "exec", lab.node, "dnsmasq", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const listening = async () =>
    child.exitCode !== null
      ? "exited"
      : (await run("ip", ["netns", "exec", lab.node, "ss", "-lun"])).stdout.includes(`${address}:53`) && "listening";
  const outcome = await eventually(listening, {
    timeoutMs: 10_000,
    everyMs: 50,
    what: `dnsmasq on ${address}:53`,
  }).catch(() => "timed out");
  if (outcome !== "listening") {
    child.kill("SIGKILL");
    throw new Error(`dnsmasq did not listen on ${address}:53: ${stderr}`);
  }
  return child;
}
