/**
 * Electron's main-process API, as far as src/main and electron-store use it,
 * for running the real main.ts where no Electron binary can exist (this
 * machine). It follows Electron's documented behaviour: `app.quit()` emits a
 * cancellable `before-quit`, then `will-quit` and `quit`; `app.exit()` ends at
 * once without events; schemes must be registered before `ready`;
 * `nativeImage.createFromPath` gives an empty image for a missing file; a
 * second `ipcMain.handle` on one channel throws. A test drives it over stdin
 * and reads what happened on stdout (lines starting with "@electron-fake ").
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const say = (event: Record<string, unknown>) => process.stdout.write(`@electron-fake ${JSON.stringify(event)}\n`);

let ready = false;

class App extends EventEmitter {
  readonly isPackaged = false;
  readonly dock = { hide: () => undefined };
  private quitting = false;
  whenReady(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        ready = true;
        this.emit("ready");
        resolve();
      }),
    );
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  getPath(name: string): string {
    const appData = process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config");
    if (name === "userData") return join(appData, "minikube-tunnel");
    if (name === "appData") return appData;
    return join(homedir(), name);
  }
  getVersion(): string {
    return "0.1.0";
  }
  /** Electron: the current application directory (a checkout's root when not packaged). */
  getAppPath(): string {
    return join(import.meta.dirname, "..", "..");
  }
  getName(): string {
    return "minikube-tunnel";
  }
  setLoginItemSettings(settings: unknown): void {
    say({ event: "login-item", settings });
  }
  quit(): void {
    if (this.quitting) return;
    let prevented = false;
    this.emit("before-quit", { preventDefault: () => (prevented = true) });
    if (prevented) return;
    this.quitting = true;
    this.emit("will-quit", { preventDefault: () => undefined });
    this.emit("quit", {}, 0);
    this.exit(0);
  }
  exit(code = 0): void {
    say({ event: "exit", code });
    process.exit(code);
  }
}

export const app = new App();

export const protocol = {
  handlers: new Map<string, (request: Request) => Promise<Response>>(),
  registerSchemesAsPrivileged(schemes: unknown): void {
    if (ready) throw new Error("protocol.registerSchemesAsPrivileged should be called before app is ready");
    say({ event: "schemes", schemes });
  },
  handle(scheme: string, handler: (request: Request) => Promise<Response>): void {
    this.handlers.set(scheme, handler);
  },
};

type Handler = (event: { senderFrame: { url: string } | null }, ...args: unknown[]) => unknown;
export const ipcMain = {
  handlers: new Map<string, Handler>(),
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  },
  on: () => undefined,
};

export const nativeImage = {
  createFromPath: (path: string) => ({ path, isEmpty: () => !existsSync(path) }),
};

export const nativeTheme = Object.assign(new EventEmitter(), { shouldUseDarkColors: false });
export const powerMonitor = new EventEmitter();
export const clipboard = { writeText: (text: string) => say({ event: "clipboard", text }) };
export const shell = {
  openExternal: async (url: string) => say({ event: "open-external", url }),
  openPath: async () => "",
};
export const dialog = { showOpenDialog: async () => ({ canceled: true, filePaths: [] as string[] }) };

export class Notification {
  static isSupported(): boolean {
    return true;
  }
  constructor(private readonly options: { title: string; body: string }) {}
  show(): void {
    say({ event: "notification", ...this.options });
  }
}

/**
 * A Session's permission decisions, as documented: with no handler set,
 * Electron grants every request and check; a handler set with
 * setPermissionRequestHandler / setPermissionCheckHandler decides instead.
 */
class Session {
  private requestHandler: ((wc: unknown, permission: string, callback: (granted: boolean) => void) => void) | null =
    null;
  private checkHandler: ((wc: unknown, permission: string) => boolean) | null = null;
  private deviceHandler: ((details: unknown) => boolean) | null = null;
  setPermissionRequestHandler(handler: Session["requestHandler"]): void {
    this.requestHandler = handler;
    say({ event: "permission-request-handler", set: handler !== null });
  }
  setPermissionCheckHandler(handler: Session["checkHandler"]): void {
    this.checkHandler = handler;
    say({ event: "permission-check-handler", set: handler !== null });
  }
  setDevicePermissionHandler(handler: Session["deviceHandler"]): void {
    this.deviceHandler = handler;
  }
  /** What a page's permission request resolves to. */
  request(permission: string): Promise<boolean> {
    const handler = this.requestHandler;
    if (!handler) return Promise.resolve(true);
    return new Promise((resolve) => handler({}, permission, resolve));
  }
  check(permission: string): boolean {
    return this.checkHandler ? this.checkHandler({}, permission) : true;
  }
  device(): boolean {
    return this.deviceHandler ? this.deviceHandler({}) : true;
  }
}
const partitions = new Map<string, Session>();
export const session = {
  defaultSession: new Session(),
  fromPartition(name: string): Session {
    return partitions.get(name) ?? partitions.set(name, new Session()).get(name)!;
  },
};

interface MenuItemOptions {
  id?: string;
  label?: string;
  type?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItemOptions[];
}
export class Menu {
  constructor(readonly items: MenuItemOptions[]) {}
  static buildFromTemplate(template: MenuItemOptions[]): Menu {
    return new Menu(template);
  }
}

const trays: Tray[] = [];
const describeMenu = (items: MenuItemOptions[]): unknown[] =>
  items.map((i) => ({
    id: i.id,
    label: i.label,
    enabled: i.enabled !== false,
    ...(i.submenu ? { submenu: describeMenu(i.submenu) } : {}),
  }));

export class Tray {
  menu: Menu | null = null;
  image: { path: string; isEmpty(): boolean };
  constructor(image: { path: string; isEmpty(): boolean }) {
    this.image = image;
    trays.push(this);
  }
  setToolTip(): void {}
  setImage(image: { path: string; isEmpty(): boolean }): void {
    this.image = image;
  }
  setContextMenu(menu: Menu): void {
    this.menu = menu;
    say({ event: "tray", icon: this.image.path, iconEmpty: this.image.isEmpty(), menu: describeMenu(menu.items) });
  }
}

class WebContents extends EventEmitter {
  openHandler: (() => unknown) | null = null;
  setWindowOpenHandler(handler: () => unknown): void {
    this.openHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    say({ event: "send", channel, args: channel === "state:changed" ? ["<state>"] : args });
  }
}

export class BrowserWindow extends EventEmitter {
  static all: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.all.filter((w) => !w.destroyed);
  }
  readonly webContents = new WebContents();
  private destroyed = false;
  constructor(readonly options: Record<string, unknown>) {
    super();
    BrowserWindow.all.push(this);
  }
  async loadURL(url: string): Promise<void> {
    say({ event: "window", url, webPreferences: this.options.webPreferences });
    setImmediate(() => this.emit("ready-to-show"));
  }
  show(): void {}
  focus(): void {}
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit("closed");
  }
}

function findItem(items: MenuItemOptions[], id: string): MenuItemOptions | undefined {
  for (const item of items) {
    if (item.id === id) return item;
    const inner = item.submenu ? findItem(item.submenu, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

// The test's side of the harness: one JSON command per stdin line.
createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line) as {
    cmd: string;
    id?: string;
    channel?: string;
    sender?: string | null;
    args?: unknown[];
    target?: string;
    event?: string;
    url?: string;
  };
  if (command.cmd === "click") {
    const menu = trays.at(-1)?.menu;
    const item = menu ? findItem(menu.items, command.id ?? "") : undefined;
    if (!item?.click) return say({ event: "error", message: `no clickable tray item ${command.id}` });
    if (item.enabled === false) return say({ event: "error", message: `tray item ${command.id} is disabled` });
    item.click();
  } else if (command.cmd === "invoke") {
    const handler = ipcMain.handlers.get(command.channel ?? "");
    if (!handler)
      return say({ event: "invoke-result", ok: false, error: `No handler registered for '${command.channel}'` });
    Promise.resolve()
      .then(() =>
        handler(
          {
            senderFrame: command.sender === null ? null : { url: command.sender ?? "app://minikube-tunnel/index.html" },
          },
          ...(command.args ?? []),
        ),
      )
      .then(
        (value) => say({ event: "invoke-result", ok: true, value: value ?? null }),
        (error: unknown) => say({ event: "invoke-result", ok: false, error: (error as Error).message }),
      );
  } else if (command.cmd === "fetch") {
    const url = new URL(command.url ?? "");
    const handler = protocol.handlers.get(url.protocol.replace(/:$/, ""));
    if (!handler) return say({ event: "fetch-result", status: null, error: `no handler for ${url.protocol}` });
    void handler(new Request(url.href)).then(async (response) =>
      say({
        event: "fetch-result",
        status: response.status,
        csp: response.headers.get("content-security-policy"),
        bytes: (await response.arrayBuffer()).byteLength,
      }),
    );
  } else if (command.cmd === "permission") {
    void session.defaultSession.request(command.event ?? "media").then((granted) =>
      say({
        event: "permission-result",
        permission: command.event,
        granted,
        check: session.defaultSession.check(command.event ?? "media"),
      }),
    );
  } else if (command.cmd === "power") {
    powerMonitor.emit(command.event ?? "resume");
  } else if (command.cmd === "quit") {
    app.quit();
  }
});

export default {
  app,
  protocol,
  ipcMain,
  nativeImage,
  nativeTheme,
  powerMonitor,
  clipboard,
  shell,
  dialog,
  Notification,
  Menu,
  Tray,
  BrowserWindow,
  session,
};
