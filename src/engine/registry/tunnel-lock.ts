import { join } from "node:path";
import { assertProfileName } from "../../shared/profile-name.js";
import { type HeldLock, tryLockFile } from "../system/file-lock.js";
import type { FileAccess } from "../system/file-access.js";
import { isTunnelProcessAlive } from "./process-liveness.js";

const MARKER = /^minikube-tunnel pid=(\d+)(?: start=(\S+))?$/m;
const LINK = /^link (\{.*\})$/m;

/** Forward mode's SSH link as its tunnel last noted it in the lock, for status from another process. */
export interface LinkNote {
  readonly state: string;
  readonly endpoint: string | null;
  readonly error?: string;
}

/** Who holds a profile's tunnel lock when we cannot take it. */
export type LockHolder =
  { readonly kind: "minikube-tunnel"; readonly pid: number; readonly link?: LinkNote } | { readonly kind: "minikube" };

/** `minikube tunnel` holds an exclusive flock on this file for as long as it runs (cmd/minikube/cmd/tunnel.go). */
export function tunnelLockPath(miniPath: string, profile: string): string {
  return join(miniPath, "profiles", assertProfileName(profile), ".tunnel_lock");
}

export function describeHolder(holder: LockHolder): string {
  return holder.kind === "minikube"
    ? "`minikube tunnel` is running for this profile"
    : `another Minikube Tunnel process (pid ${holder.pid}) runs this profile`;
}

/**
 * The same lock minikube's tunnel takes, so the two never fight over one
 * profile's routes: we hold it while our tunnel runs (and `minikube tunnel`
 * then refuses to start), and we step back while it is held by someone else.
 * Inside it we note our pid, so a second look can tell minikube from us.
 */
export class TunnelLocks {
  constructor(
    private readonly miniPath: string,
    private readonly files: () => Promise<FileAccess>,
    private readonly self: { pid: number; startTime?: string } = { pid: process.pid },
  ) {}

  /** Takes the lock, or says who has it. */
  async acquire(profile: string): Promise<HeldLock | LockHolder> {
    const path = tunnelLockPath(this.miniPath, profile);
    const held = await tryLockFile(path, await this.files());
    if (held) {
      await held.describe(this.marker());
      return held;
    }
    return this.holder(profile);
  }

  /** Forward mode notes its link's state beside the marker: only the holder writes it, and it dies with the holder. */
  noteLink(held: HeldLock, link: LinkNote): Promise<void> {
    const note: LinkNote = { state: link.state, endpoint: link.endpoint, ...(link.error ? { error: link.error } : {}) };
    return held.describe(`${this.marker()}link ${JSON.stringify(note)}\n`);
  }

  private marker(): string {
    return `minikube-tunnel pid=${this.self.pid}${this.self.startTime ? ` start=${this.self.startTime}` : ""}\n`;
  }

  /** For status from any process: null when nobody holds the profile's lock. */
  async check(profile: string): Promise<LockHolder | null> {
    const result = await this.acquire(profile).catch(() => null);
    if (result === null) return null;
    if ("release" in result) {
      await result.release();
      return null;
    }
    return result;
  }

  private async holder(profile: string): Promise<LockHolder> {
    const text = (await (await this.files()).readText(tunnelLockPath(this.miniPath, profile)).catch(() => null)) ?? "";
    const marker = MARKER.exec(text);
    if (marker && (await isTunnelProcessAlive(Number(marker[1]), marker[2]))) {
      const link = parseLinkNote(LINK.exec(text)?.[1]);
      return { kind: "minikube-tunnel", pid: Number(marker[1]), ...(link ? { link } : {}) };
    }
    return { kind: "minikube" };
  }
}

function parseLinkNote(json: string | undefined): LinkNote | null {
  if (!json) return null;
  try {
    const note = JSON.parse(json) as Partial<LinkNote>;
    if (typeof note.state !== "string" || (note.endpoint !== null && typeof note.endpoint !== "string")) return null;
    return {
      state: note.state,
      endpoint: note.endpoint,
      ...(typeof note.error === "string" ? { error: note.error } : {}),
    };
  } catch {
    return null;
  }
}
