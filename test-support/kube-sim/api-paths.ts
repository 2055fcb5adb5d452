import {
  type Served,
  apiGroup,
  apiGroupList,
  apiVersions,
  openApiV3Document,
  openApiV3Root,
  resourceList,
  version,
} from "./discovery.js";
import { KINDS, type ResourceKind } from "./resource-kinds.js";

export interface Route {
  readonly plural: string;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly subresource: "status" | null;
}

/**
 * /api/v1[/namespaces/{ns}]/{plural}[/{name}[/status]] and /apis/{group}/{version}/…, for kinds served now (a CRD's
 * only while installed).
 */
export function parsePath(pathname: string, served: (k: ResourceKind) => boolean): Route | null {
  const parts = pathname.split("/").filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") [group, rest] = ["", parts.slice(2)];
  else if (parts[0] === "apis" && parts.length >= 3) [group, rest] = [parts[1]!, parts.slice(3)];
  else return null;
  const version = group === "" ? "v1" : parts[2]!;
  const find = (plural: string | undefined) => {
    const k = plural ? KINDS[plural] : undefined;
    return k && k.group === group && k.version === version && served(k) ? k : undefined;
  };
  let namespace: string | null = null;
  if (rest[0] === "namespaces" && rest.length >= 3 && find(rest[2])?.namespaced) {
    namespace = rest[1] ?? null;
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  const kind = find(plural);
  if (!kind || extra.length > 0 || (sub !== undefined && (sub !== "status" || !kind.hasStatus))) return null;
  return { plural: kind.plural, namespace, name: name ?? null, subresource: sub === "status" ? "status" : null };
}

/**
 * Discovery documents: the answer, null for a discovery path that serves nothing now (404), undefined for a path that
 * is not discovery.
 */
export function discoveryDocument(pathname: string, served: Served, host: string): unknown {
  if (pathname === "/version") return version();
  if (pathname === "/api") return apiVersions(host);
  if (pathname === "/apis") return apiGroupList(served);
  if (pathname === "/api/v1") return resourceList("", "v1", served);
  if (pathname === "/openapi/v3") return openApiV3Root(served);
  if (pathname.startsWith("/openapi/v3/")) return openApiV3Document(pathname.slice("/openapi/v3/".length), served);
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] !== "apis") return undefined;
  if (parts.length === 2) return apiGroup(parts[1]!, served);
  if (parts.length === 3) return resourceList(parts[1]!, parts[2]!, served);
  return undefined;
}
