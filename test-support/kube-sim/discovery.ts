import { KINDS, type ResourceKind, groupVersion, servedGroups } from "./resource-kinds.js";

/** Which kinds the API serves now (CRDs come and go). */
export type Served = (kind: ResourceKind) => boolean;

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

export function apiVersions(address: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: address }],
  };
}

function groupEntry(name: string, versions: readonly string[]) {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

/** The legacy (unaggregated) discovery of /apis: kubectl falls back to it when the answer is plain JSON. */
export function apiGroupList(served: Served) {
  const groups = [...servedGroups(served)].filter(([name]) => name !== "").map(([name, v]) => groupEntry(name, v));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

/** /apis/<group>: null when no version of the group is served (404). */
export function apiGroup(name: string, served: Served) {
  const versions = servedGroups(served).get(name);
  if (!versions || name === "") return null;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(name, versions) };
}

/** /api/v1 or /apis/<group>/<version>: null when nothing is served there (404). */
export function resourceList(group: string, version: string, served: Served) {
  const kinds = Object.values(KINDS).filter((k) => k.group === group && k.version === version && served(k));
  if (kinds.length === 0) return null;
  const resources = kinds.flatMap((k) => [
    {
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
      ...(k.crd ? { categories: ["gateway-api"] } : {}),
    },
    ...(k.hasStatus
      ? [
          {
            name: `${k.plural}/status`,
            singularName: "",
            namespaced: k.namespaced,
            kind: k.kind,
            verbs: ["get", "patch", "update"],
          },
        ]
      : []),
  ]);
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources,
  };
}

export function version() {
  return {
    major: "1",
    minor: "34",
    gitVersion: "v1.34.0-kubesim",
    gitCommit: "0000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.24",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

const OPENAPI_HASH = "kubesim1";

const openApiPath = (gv: string) => (gv === "v1" ? "api/v1" : `apis/${gv}`);

/** The OpenAPI v3 discovery root: kubectl reads it to learn that the server validates fields itself. */
export function openApiV3Root(served: Served) {
  const paths: Record<string, unknown> = {};
  for (const gv of new Set(Object.values(KINDS).filter(served).map(groupVersion)))
    paths[openApiPath(gv)] = { serverRelativeURL: `/openapi/v3/${openApiPath(gv)}?hash=${OPENAPI_HASH}` };
  return { paths };
}

/**
 * Just enough of one group-version's OpenAPI v3 document for kubectl: each kind's PATCH operation with its
 * group-version-kind and the fieldValidation query parameter, which tells kubectl to leave validation to the server.
 * null when the path serves nothing.
 */
export function openApiV3Document(path: string, served: Served) {
  const kinds = Object.values(KINDS).filter((k) => served(k) && openApiPath(groupVersion(k)) === path);
  if (kinds.length === 0) return null;
  const paths: Record<string, unknown> = {};
  for (const kind of kinds) {
    const prefix = `/${openApiPath(groupVersion(kind))}`;
    const at = kind.namespaced
      ? `${prefix}/namespaces/{namespace}/${kind.plural}/{name}`
      : `${prefix}/${kind.plural}/{name}`;
    paths[at] = {
      patch: {
        operationId: `patch${kind.namespaced ? "Namespaced" : ""}${kind.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group: kind.group, version: kind.version, kind: kind.kind },
        parameters: [
          { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
          { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
          { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
        ],
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.34.0-kubesim" },
    paths,
    components: { schemas: {} },
  };
}
