import { timingSafeEqual } from "node:crypto";
import { chmod, chown, rm } from "node:fs/promises";
import { type Server, type Socket, createServer } from "node:net";
import { parseCidr } from "../shared/cidr.js";
import { type HelperRequest, type HelperResponse, MAX_REQUEST_BYTES, helperRequestSchema } from "../shared/helper-protocol.js";
import type { RouteTable } from "../engine/access/routes/route-table.js";
import type { RegistryFile } from "../engine/registry/registry-file.js";
import type { RouteRegistrar } from "../engine/registry/route-transaction.js";
import { cleanupStaleTunnels } from "../engine/registry/stale-cleanup.js";
import { type Declaration, PolicyError, checkClusterDns, checkDeclaredCidr, checkForwardAddress, checkGateway, checkHostsEntry } from "./request-policy.js";
import type { InProcessNames } from "../engine/access/names/names-backend.js";
import { type LoopbackAliases, noAliasesNeeded } from "../engine/access/forwards/loopback-aliases.js";
import { LoopbackRelays } from "../engine/access/forwards/loopback-relays.js";

export interface HelperServerOptions {
  readonly socketPath: string;
  readonly uid: number;
  readonly gid: number;
  readonly secret: string;
  readonly registrar: RouteRegistrar;
  readonly table: RouteTable;
  readonly registry: RegistryFile;
  readonly log: (line: string) => void;
  readonly aliases?: LoopbackAliases;
  /** Cluster names on this machine; null where the helper was started without them. */
  readonly names?: InProcessNames | null;
}

/**
 * The root side of the helper (docs/architecture.md, "The privileged helper"): one authenticated client at a time over a Unix
 * socket only the user can open. It changes routes only within what the client
 * declared, removes only routes it registered, and when its client goes away it
 * removes everything it added and exits.
 */
export class HelperServer {
  private server: Server | null = null;
  private client: Socket | null = null;
  private readonly declarations = new Map<string, Declaration>();
  private shuttingDown: Promise<void> | null = null;
  private readonly relays = new LoopbackRelays();
  private readonly aliases = new Set<string>();

  constructor(
    private readonly options: HelperServerOptions,
    private readonly onExit: () => void,
  ) {}

  async listen(): Promise<void> {
    await rm(this.options.socketPath, { force: true });
    this.server = createServer((socket) => this.accept(socket));
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
    this.options.log(`listening on ${this.options.socketPath} for uid ${this.options.uid}`);
  }

  private accept(socket: Socket): void {
    if (this.client !== null || this.shuttingDown) {
      this.options.log("refused a second connection: the helper serves one client");
      socket.end(`${JSON.stringify({ id: null, ok: false, error: "the helper already has a client" })}\n`);
      return;
    }
    this.client = socket;
    this.options.log("client connected");
    let buffer = "";
    let discarding = false;
    let queue: Promise<void> = Promise.resolve();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const newline = buffer.indexOf("\n");
        if (newline === -1) {
          if (buffer.length > MAX_REQUEST_BYTES) {
            if (!discarding) this.reply(socket, { id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
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
        queue = queue.then(() => this.handleLine(socket, line));
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.options.log("client disconnected: removing its routes");
      void queue.then(() => this.shutdown());
    });
  }

  private reply(socket: Socket, response: HelperResponse): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
  }

  private async handleLine(socket: Socket, line: string): Promise<void> {
    if (line.length > MAX_REQUEST_BYTES) return this.reply(socket, { id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.options.log("refused: malformed JSON");
      return this.reply(socket, { id: null, ok: false, error: "malformed JSON" });
    }
    const id = typeof (json as { id?: unknown })?.id === "number" ? (json as { id: number }).id : null;
    if (!this.secretMatches((json as { secret?: unknown })?.secret)) {
      this.options.log("refused: missing or wrong secret");
      return this.reply(socket, { id, ok: false, error: "not authorised" });
    }
    const parsed = helperRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const error = `invalid request: ${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`;
      this.options.log(`refused: ${error}`);
      return this.reply(socket, { id, ok: false, error });
    }
    const request = parsed.data;
    try {
      const result = await this.perform(request);
      this.options.log(`${describe(request)} → ${JSON.stringify(result)}`);
      this.reply(socket, { id: request.id, ok: true, result });
    } catch (error) {
      const message = (error as Error).message;
      this.options.log(`${describe(request)} → refused: ${message}`);
      this.reply(socket, { id: request.id, ok: false, error: message });
    }
  }

  private secretMatches(candidate: unknown): boolean {
    if (typeof candidate !== "string" || candidate.length !== this.options.secret.length) return false;
    return timingSafeEqual(Buffer.from(candidate), Buffer.from(this.options.secret));
  }

  private async perform(request: HelperRequest): Promise<unknown> {
    switch (request.op) {
      case "ping":
        return "pong";
      case "declare": {
        checkGateway(request.nodeIp);
        const cidrs = new Set(request.cidrs.map((c) => checkDeclaredCidr(c).text));
        this.declarations.set(request.profile, { nodeIp: request.nodeIp, cidrs, clusterDomain: request.clusterDomain, clusterDnsIp: request.clusterDnsIp });
        return "declared";
      }
      case "add": {
        // Every CIDR is checked before any is added: one bad CIDR refuses the whole batch.
        const declaration = this.allowedAll(request.profile, request.cidrs, request.gateway);
        return this.options.registrar.addRoutes(request.cidrs.map((cidr) => ({ destination: parseCidr(cidr), gateway: request.gateway, profile: request.profile, clusterDomain: declaration.clusterDomain, clusterDnsIp: declaration.clusterDnsIp })));
      }
      case "remove": {
        // Only a route this helper holds is ever removed; the registrar checks the registry and its own record.
        const outcomes = await this.options.registrar.removeRoutes(request.cidrs.map((cidr) => ({ destination: parseCidr(cidr), gateway: request.gateway, profile: request.profile })));
        if (outcomes.every((o) => o.kind === "not-ours")) throw new PolicyError(`${request.cidrs.join(", ")} via ${request.gateway} is not a route this helper registered; refusing to remove it`);
        return outcomes;
      }
      case "cleanup": {
        const report = await cleanupStaleTunnels(this.options.table, this.options.registry);
        const names = (await this.options.names?.removeStale().catch((error: Error) => [`names: ${error.message}`])) ?? [];
        return { ...report, names };
      }
      case "relay":
        checkForwardAddress(request.address);
        await this.relays.open(request.address, request.port, request.targetPort);
        return "listening";
      case "unrelay":
        return (await this.relays.close(request.address, request.port)) ? "closed" : "not open";
      case "names-hosts": {
        const names = this.namesOrRefuse();
        for (const entry of request.entries ?? []) checkHostsEntry(entry.ip, entry.names, request.domain, this.declarations.get(request.profile));
        await names.setHosts(request.profile, request.domain, request.entries);
        return request.entries === null ? "removed" : `${request.entries.length} entries`;
      }
      case "names-dns": {
        const names = this.namesOrRefuse();
        if (request.dns) checkClusterDns(request.dns, this.declarations.get(request.profile));
        return (await names.setDns(request.profile, request.dns)) ?? "removed";
      }
      case "names-dns-check":
        return (await this.namesOrRefuse().dnsUnavailable()) ?? "available";
      case "alias": {
        checkForwardAddress(request.address);
        const aliases = this.options.aliases ?? noAliasesNeeded;
        if (request.present) {
          await aliases.add(request.address);
          this.aliases.add(request.address);
          return "added";
        }
        if (!this.aliases.delete(request.address)) throw new PolicyError(`${request.address} is not an alias this helper added; refusing to remove it`);
        await aliases.remove(request.address);
        return "removed";
      }
    }
  }

  private namesOrRefuse(): InProcessNames {
    if (!this.options.names) throw new PolicyError("this helper does not manage cluster names");
    return this.options.names;
  }

  private allowedAll(profile: string, cidrs: readonly string[], gateway: string): Declaration {
    const declaration = this.declarations.get(profile);
    if (!declaration) throw new PolicyError(`profile "${profile}" was not declared`);
    if (gateway !== declaration.nodeIp) throw new PolicyError(`gateway ${gateway} is not the node IP ${declaration.nodeIp} of profile "${profile}"`);
    for (const text of cidrs) {
      const cidr = parseCidr(text).text;
      if (!declaration.cidrs.has(cidr)) throw new PolicyError(`${cidr} was not declared for profile "${profile}"`);
    }
    return declaration;
  }

  /** Removes every route this helper added, then stops; also the answer to SIGTERM. */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      try {
        const routes = await this.options.registrar.ownRoutes();
        const outcomes = await this.options.registrar.removeRoutes(routes);
        routes.forEach((route, i) => {
          const outcome = outcomes[i];
          const what = `${route.destination.text} via ${route.gateway} (${route.profile})`;
          this.options.log(outcome?.kind === "failed" ? `could not remove ${what}: ${outcome.error}` : `removed ${what}${outcome?.kind === "left-to-live-owner" ? " from the registry; another live tunnel keeps the route" : ""}`);
        });
      } catch (error) {
        this.options.log(`could not remove this client's routes: ${(error as Error).message}`);
      }
      const relays = await this.relays.closeAll();
      if (relays > 0) this.options.log(`closed ${relays} forwarded port(s)`);
      for (const address of this.aliases) {
        await (this.options.aliases ?? noAliasesNeeded).remove(address).then(
          () => this.options.log(`removed the loopback alias ${address}`),
          (error: Error) => this.options.log(`could not remove the loopback alias ${address}: ${error.message}`),
        );
      }
      this.aliases.clear();
      for (const failure of (await this.options.names?.clearAll()) ?? []) this.options.log(`could not take back ${failure}`);
      this.server?.close();
      await rm(this.options.socketPath, { force: true });
      this.options.log("stopped");
      this.onExit();
    })();
    return this.shuttingDown;
  }
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
    default:
      return request.op;
  }
}
