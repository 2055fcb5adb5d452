import { type ChildProcess, spawn } from "node:child_process";
import { inPrivateEtc } from "../private-etc.js";
import { join } from "node:path";
import { createInterface } from "node:readline";

export type FakeEvent = { event: string } & Record<string, any>;

const root = join(import.meta.dirname, "..", "..");

/** src/main/main.ts running on the Electron fake, in a lab namespace; commands in, events out. */
export class FakeElectronMain {
  readonly events: FakeEvent[] = [];
  readonly stderr: string[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("@electron-fake ")) return;
      this.events.push(JSON.parse(line.slice("@electron-fake ".length)) as FakeEvent);
      for (const waiter of this.waiters) waiter();
    });
    child.stderr!.on("data", (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static start(namespace: string, env: NodeJS.ProcessEnv): FakeElectronMain {
    const [file, args] = inPrivateEtc("ip", [
      "netns",
      "exec",
      namespace,
      process.execPath,
      "--import",
      "tsx",
      "--import",
      join(root, "test-support/electron-fake/register.ts"),
      join(root, "src/main/main.ts"),
    ]);
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    return new FakeElectronMain(child);
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The first event from `from` on that passes `match`: looked for again as each event arrives. */
  waitFor(match: (e: FakeEvent) => boolean, what: string, timeoutMs = 20_000, from = 0): Promise<FakeEvent> {
    const find = () => this.events.slice(from).find(match);
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const event = find();
        if (!event) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(event);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr.join("").slice(-2000)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async invoke(channel: string, args: unknown[], sender?: string | null): Promise<FakeEvent> {
    const from = this.events.length;
    this.send({ cmd: "invoke", channel, args, ...(sender !== undefined ? { sender } : {}) });
    return this.waitFor((e) => e.event === "invoke-result", `answer on ${channel}`, 20_000, from);
  }

  lastTray(): FakeEvent | undefined {
    return this.events.filter((e) => e.event === "tray").at(-1);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

export function menuItem(menu: any[], id: string): any {
  for (const item of menu) {
    if (item.id === id) return item;
    const inner = item.submenu ? menuItem(item.submenu, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
}
