import { type Socket, connect } from "node:net";
import { createInterface } from "node:readline";
import type { HelperCall, HelperResponse } from "../../shared/helper-protocol.js";
import type {
  AddOutcome,
  CleanupReport,
  ClusterDns,
  HostsEntry,
  HostsResult,
  ProfileDeclaration,
  RemoveOutcome,
  Root,
  RouteRef,
  RouteRequest,
  WildcardEntry,
  WildcardsResult,
} from "../root/index.js";
import { openChannel } from "./tcp-channel.js";

/** Long enough for a batch of route commands, each of which the helper limits to 10 s. */
export const HELPER_CALL_TIMEOUT_MS = 60_000;

export class HelperError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HelperError";
  }
}

/**
 * The user side of the helper channel: a Root whose requests root checks
 * and carries out in this client's session, so the tunnel does not know
 * whether it drives the helper or this process as root. Closing it (or this
 * process dying) makes the helper take back everything it set.
 */
export class HelperClient implements Root {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private isClosed = false;
  /** The helper's reason for refusing this connection; it may arrive before any call is waiting. */
  private refusal: string | null = null;

  private constructor(
    private readonly socket: Socket,
    /** null over the TCP channel: the handshake proved the secret, and it never goes on the wire. */
    private readonly secret: string | null,
    private readonly callTimeoutMs: number,
    private readonly writeLine: (line: string) => void = (line) => void socket.write(`${line}\n`),
    lines?: (listener: (line: string) => void) => void,
  ) {
    if (lines) lines((line) => this.onLine(line));
    else createInterface({ input: socket }).on("line", (line) => this.onLine(line));
    socket.on("close", () => {
      this.isClosed = true;
      for (const { reject } of this.pending.values())
        reject(new HelperError(this.refusal ?? "the privileged helper closed the connection"));
      this.pending.clear();
    });
    socket.on("error", () => undefined);
  }

  /** True once the helper is gone (it exited, or was killed): a new one has to be started. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The helper over the TCP channel (Windows): both ends proved the secret; every line is MAC'd and sequenced. */
  static async overChannel(
    port: number,
    secret: string,
    callTimeoutMs = HELPER_CALL_TIMEOUT_MS,
  ): Promise<HelperClient> {
    const { socket, lines } = await openChannel(port, secret).catch((error: Error) =>
      Promise.reject(new HelperError(error.message)),
    );
    return new HelperClient(
      socket,
      null,
      callTimeoutMs,
      (line) => lines.write(line),
      (listener) => lines.onLine(listener),
    );
  }

  static connect(
    socketPath: string,
    secret: string,
    timeoutMs = 5000,
    callTimeoutMs = HELPER_CALL_TIMEOUT_MS,
  ): Promise<HelperClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new HelperError(`no answer from the helper at ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new HelperClient(socket, secret, callTimeoutMs));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(new HelperError(`cannot connect to the helper at ${socketPath}: ${error.message}`));
      });
    });
  }

  private onLine(line: string): void {
    let response: HelperResponse;
    try {
      response = JSON.parse(line) as HelperResponse;
    } catch {
      return;
    }
    if (response.id === null) {
      // A refusal of the connection itself (a second client): every waiting call gets the reason, not just "closed".
      if (!response.ok) {
        this.refusal = `helper refused: ${response.error}`;
        for (const { reject } of this.pending.values()) reject(new HelperError(this.refusal));
        this.pending.clear();
      }
      return;
    }
    const waiter = this.pending.get(response.id);
    if (!waiter) return;
    this.pending.delete(response.id);
    if (response.ok) waiter.resolve(response.result);
    else waiter.reject(new HelperError(`helper refused: ${response.error}`));
  }

  call<T>(request: HelperCall): Promise<T> {
    if (this.refusal) return Promise.reject(new HelperError(this.refusal));
    if (this.isClosed) return Promise.reject(new HelperError("the privileged helper is not connected"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // A helper stuck in a command must not hold the tunnel: the call gives up, the helper's own command limits end
      // the command.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HelperError(`the privileged helper did not answer "${request.op}" within ${this.callTimeoutMs} ms`));
      }, this.callTimeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), (resolve as (v: unknown) => void)(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.writeLine(
        JSON.stringify(this.secret === null ? { ...request, id } : { ...request, id, secret: this.secret }),
      );
    });
  }

  /** The first call on a connection: the helper opens this client's session, its entries carrying `pid`. */
  async hello(registry?: string, pid = process.pid): Promise<{ version: string; mode: string }> {
    return this.call({ op: "hello", pid, ...(registry !== undefined ? { registry } : {}) });
  }

  async declare(d: ProfileDeclaration): Promise<void> {
    await this.call({
      op: "declare",
      profile: d.profile,
      nodeIp: d.nodeIp,
      cidrs: d.cidrs.map((c) => c.text),
      clusterDomain: d.clusterDomain,
      clusterDnsIp: d.clusterDnsIp,
    });
  }

  /** One helper call per profile and gateway: the helper batches per call. */
  addRoutes(requests: readonly RouteRequest[]): Promise<AddOutcome[]> {
    return this.perGroup(
      requests,
      (profile, gateway, cidrs) => this.call<AddOutcome[]>({ op: "add", profile, gateway, cidrs }),
      (error) => ({ kind: "failed", error: error.message }),
    );
  }

  removeRoutes(routes: readonly RouteRef[]): Promise<RemoveOutcome[]> {
    return this.perGroup(
      routes,
      (profile, gateway, cidrs) => this.call<RemoveOutcome[]>({ op: "remove", profile, gateway, cidrs }),
      (error) => ({ kind: "failed", error: error.message }),
    );
  }

  private async perGroup<T>(
    routes: readonly RouteRef[],
    send: (profile: string, gateway: string, cidrs: string[]) => Promise<T[]>,
    failed: (error: Error) => T,
  ): Promise<T[]> {
    const results: T[] = new Array<T>(routes.length);
    const groups = new Map<string, number[]>();
    routes.forEach((r, i) => {
      const key = `${r.profile}\u0000${r.gateway}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    let failure: Error | null = null;
    for (const indexes of groups.values()) {
      const first = routes[indexes[0]!]!;
      // Once a group failed, the next ones are not sent; the groups already done keep their answers.
      const answers = failure
        ? null
        : await send(
            first.profile,
            first.gateway,
            indexes.map((i) => routes[i]!.destination.text),
          ).catch((error: Error) => ((failure = error), null));
      indexes.forEach((i, k) => (results[i] = answers ? answers[k]! : failed(failure!)));
    }
    return results;
  }

  cleanup(): Promise<CleanupReport> {
    return this.call({ op: "cleanup" });
  }

  async relay(address: string, port: number, targetPort: number): Promise<void> {
    await this.call({ op: "relay", address, port, targetPort });
  }

  async unrelay(address: string, port: number): Promise<void> {
    await this.call({ op: "unrelay", address, port });
  }

  async alias(address: string, present: boolean): Promise<void> {
    await this.call({ op: "alias", address, present });
  }

  setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    return this.call({
      op: "names-hosts",
      profile,
      entries:
        entries === null
          ? null
          : entries.map((e) => ({ ip: e.ip, names: [...e.names], ...(e.kind ? { kind: e.kind } : {}) })),
    });
  }

  async setDns(profile: string, dns: ClusterDns | null): Promise<string | null> {
    const answer = await this.call<string>({ op: "names-dns", profile, dns });
    return dns === null ? null : answer;
  }

  setWildcards(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    return this.call({
      op: "names-wildcards",
      profile,
      entries: entries === null ? null : entries.map((e) => ({ pattern: e.pattern, ip: e.ip, reach: e.reach })),
    });
  }

  async dnsUnavailable(): Promise<string | null> {
    const answer = await this.call<string>({ op: "names-dns-check" });
    return answer === "available" ? null : answer;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.isClosed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}
