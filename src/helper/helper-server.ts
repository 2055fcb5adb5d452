import { createHash, timingSafeEqual } from "node:crypto";
import { chmod, chown, rm } from "node:fs/promises";
import { type Server, type Socket, createServer } from "node:net";
import {
  type HelperRequest,
  type HelperResponse,
  MAX_REQUEST_BYTES,
  helperRequestSchema,
} from "../shared/helper-protocol.js";
import type { Root } from "../engine/root/root.js";
import { APP_VERSION } from "../shared/version.js";
import { dispatch } from "./request-dispatch.js";

/** What a client's hello says: its registry (the installed helper's clients each name theirs) and its pid. */
export interface Hello {
  readonly registry: string | undefined;
  readonly pid: number;
}

/** Requests a client may have waiting at once; beyond it the helper stops reading its socket until it catches up. */
const MAX_QUEUED = 32;
/**
 * Clients the installed helper serves at once: the tray app and a few CLI
 * tunnels. Each session has its own caps (relays, hosts blocks), so this
 * bounds what one user can make root hold.
 */
export const MAX_CLIENTS = 16;

export interface HelperServerOptions {
  readonly socketPath: string;
  readonly uid: number;
  readonly gid: number;
  readonly secret: string;
  readonly log: (line: string) => void;
  /**
   * The per-session helper serves one client and exits when it goes; the
   * installed helper serves any number of its user's connections, one after
   * another or at once, and keeps running.
   */
  readonly mode: "single" | "daemon";
  /** A client's RootSession, made at its hello (which the caller checks: the pid must be the client's own user's). */
  readonly openSession: (hello: Hello) => Promise<Root>;
}

/** One line-framed, authenticated client: a Unix socket here, or the TCP channel on Windows (tcp-channel.ts). */
export interface HelperConnection {
  onLine(listener: (line: string) => void): void;
  send(response: HelperResponse): void;
  onClose(listener: () => void): void;
  end(response?: HelperResponse): void;
  /** Stop and start reading: a client that sends faster than root works waits, instead of growing root's memory. */
  pause(): void;
  resume(): void;
}

/**
 * The root side of the helper (docs/architecture.md, "The privileged
 * helper"): authenticated clients over a socket only the user can open. Each
 * connection is a HelperSession that changes only what its client declared,
 * and takes back all of it when the connection closes. The per-session
 * helper then exits; the installed one keeps serving.
 */
export class HelperServer {
  private server: Server | null = null;
  private readonly clients = new Set<HelperConnection>();
  private shuttingDown: Promise<void> | null = null;
  private readonly closing = new Set<Promise<void>>();
  /** Each connected client's take-back, settled once what it set is taken back: a stop waits for every one. */
  private readonly takenBack = new Map<HelperConnection, Promise<void>>();

  constructor(
    private readonly options: HelperServerOptions,
    private readonly onExit: () => void,
  ) {}

  async listen(): Promise<void> {
    await rm(this.options.socketPath, { force: true });
    this.server = createServer((socket) => this.accept(lineConnection(socket)));
    // Created owner-only from the start; chowned to the user before anyone is told it exists.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server!.once("error", reject);
        this.server!.listen(this.options.socketPath, resolve);
      });
    } finally {
      process.umask(oldMask);
    }
    await chown(this.options.socketPath, this.options.uid, this.options.gid);
    await chmod(this.options.socketPath, 0o600);
    this.options.log(`listening on ${this.options.socketPath} for uid ${this.options.uid} (${this.options.mode})`);
  }

  /** A client on any transport; its requests are authenticated by the secret they carry. */
  accept(connection: HelperConnection): void {
    if (this.shuttingDown || (this.options.mode === "single" && this.clients.size > 0)) {
      this.options.log("refused a second connection: the helper serves one client");
      connection.end({ id: null, ok: false, error: "the helper already has a client" });
      return;
    }
    if (this.clients.size >= MAX_CLIENTS) {
      this.options.log(`refused a connection: ${MAX_CLIENTS} clients are connected already`);
      connection.end({
        id: null,
        ok: false,
        error: `the helper already serves ${MAX_CLIENTS} clients, the most it serves at once`,
      });
      return;
    }
    this.clients.add(connection);
    let tookBack = () => {};
    this.takenBack.set(connection, new Promise<void>((resolve) => (tookBack = resolve)));
    this.options.log("client connected");
    let session: Promise<Root> | null = null;
    let queue: Promise<void> = Promise.resolve();
    let queued = 0;
    connection.onLine((line) => {
      if (++queued >= MAX_QUEUED) connection.pause();
      queue = queue.then(async () => {
        if (--queued < MAX_QUEUED) connection.resume();
        let request: HelperRequest | null;
        try {
          request = this.authenticate(connection, line);
        } catch (error) {
          // Whatever a line does to the checks, it costs that line only: the queue, the session and its undo go on.
          this.options.log(`refused: ${(error as Error).message}`);
          connection.send({ id: null, ok: false, error: "invalid request" });
          return;
        }
        if (!request) return;
        try {
          const open = (hello: Hello) => {
            const opening = this.options.openSession(hello);
            session = opening;
            // A refused hello (a pid that is not the client's) leaves the connection without a session, to say hello
            // again.
            opening.catch(() => (session === opening ? (session = null) : undefined));
            return opening;
          };
          const result = await this.handle(request, session, open);
          this.options.log(`${describe(request)} → ${JSON.stringify(result)}`);
          connection.send({ id: request.id, ok: true, result });
        } catch (error) {
          const message = (error as Error).message;
          this.options.log(`${describe(request)} → refused: ${message}`);
          connection.send({ id: request.id, ok: false, error: message });
        }
      });
    });
    connection.onClose(() => {
      const done = queue
        .catch(() => undefined)
        .then(async () => {
          this.clients.delete(connection);
          this.options.log("client disconnected: taking back what it set");
          // One session failing to take back what it set must never take the daemon (and every other session) down.
          await (
            await session?.catch(() => null)
          )
            ?.close()
            .catch((error: Error) => this.options.log(`could not take back everything of a client: ${error.message}`));
        });
      this.closing.add(done);
      void done.finally(() => {
        this.closing.delete(done);
        this.takenBack.delete(connection);
        tookBack();
        // The per-session helper's one client is gone: so is the helper.
        if (this.options.mode === "single") void this.shutdown();
      });
    });
  }

  private async handle(
    request: HelperRequest,
    session: Promise<Root> | null,
    open: (hello: Hello) => Promise<Root>,
  ): Promise<unknown> {
    if (request.op === "ping") return "pong";
    if (request.op === "hello") {
      if (session) throw new Error("hello was already said on this connection");
      await open({ registry: request.registry, pid: request.pid });
      return { version: APP_VERSION, mode: this.options.mode };
    }
    if (!session) throw new Error("say hello first: which registry, and which process is the client");
    return dispatch(await session, request);
  }

  private authenticate(connection: HelperConnection, line: string): HelperRequest | null {
    if (line.length > MAX_REQUEST_BYTES) {
      connection.send({ id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.options.log("refused: malformed JSON");
      connection.send({ id: null, ok: false, error: "malformed JSON" });
      return null;
    }
    const id = typeof (json as { id?: unknown })?.id === "number" ? (json as { id: number }).id : null;
    if (!this.secretMatches((json as { secret?: unknown })?.secret)) {
      this.options.log("refused: missing or wrong secret");
      connection.send({ id, ok: false, error: "not authorised" });
      return null;
    }
    const parsed = helperRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const error = `invalid request: ${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`;
      this.options.log(`refused: ${error}`);
      connection.send({ id, ok: false, error });
      return null;
    }
    return parsed.data;
  }

  /** Digests of equal length whatever was sent: a candidate of the right length in characters but not in bytes must not throw. */
  private secretMatches(candidate: unknown): boolean {
    if (typeof candidate !== "string") return false;
    const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
    return timingSafeEqual(digest(candidate), digest(this.options.secret));
  }

  /** Every client's settings taken back, then stop; also the answer to SIGTERM. */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.server?.close();
      // A client's take-back starts at its close event, which comes after end(): waiting on `closing` alone would
      // exit before it, leaving its routes and names behind.
      const takenBack = [...this.takenBack.values()];
      for (const client of this.clients) client.end();
      await Promise.allSettled([...this.closing, ...takenBack]);
      await rm(this.options.socketPath, { force: true });
      this.options.log("stopped");
      this.onExit();
    })();
    return this.shuttingDown;
  }
}

/** JSON lines over a stream socket, with the request size limit. */
export function lineConnection(socket: Socket): HelperConnection {
  let buffer = "";
  let discarding = false;
  const lineListeners: ((line: string) => void)[] = [];
  socket.setEncoding("utf8");
  socket.on("error", () => undefined);
  const send = (response: HelperResponse) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
  };
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const newline = buffer.indexOf("\n");
      if (newline === -1) {
        if (buffer.length > MAX_REQUEST_BYTES) {
          if (!discarding) send({ id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
          discarding = true;
          buffer = "";
        }
        return;
      }
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (discarding) {
        discarding = false;
        continue;
      }
      for (const listener of lineListeners) listener(line);
    }
  });
  return {
    onLine: (listener) => void lineListeners.push(listener),
    send,
    onClose: (listener) => void socket.on("close", listener),
    end: (response) => {
      if (response) send(response);
      socket.end();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

function describe(request: HelperRequest): string {
  switch (request.op) {
    case "declare":
      return `declare ${request.profile} node ${request.nodeIp} cidrs ${request.cidrs.join(",")}`;
    case "add":
    case "remove":
      return `${request.op} ${request.cidrs.join(",")} via ${request.gateway} (${request.profile})`;
    case "relay":
      return `relay ${request.address}:${request.port} → :${request.targetPort}`;
    case "unrelay":
      return `unrelay ${request.address}:${request.port}`;
    case "alias":
      return `alias ${request.address} ${request.present ? "add" : "remove"}`;
    case "names-hosts":
      return `names-hosts ${request.profile} (${request.entries === null ? "remove" : `${request.entries.length} entries`})`;
    case "names-dns":
      return `names-dns ${request.profile} ${request.dns ? `${request.dns.domain} → ${request.dns.server}` : "remove"}`;
    case "names-wildcards":
      return `names-wildcards ${request.profile} ${request.entries === null ? "remove" : request.entries.map((e) => `${e.pattern} → ${e.ip}`).join(", ")}`;
    default:
      return request.op;
  }
}
