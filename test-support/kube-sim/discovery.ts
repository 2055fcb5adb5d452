import { KINDS } from "./object-store.js";

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

export function apiVersions(address: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: address }],
  };
}

export function apiGroupList() {
  return { kind: "APIGroupList", apiVersion: "v1", groups: [] };
}

export function coreResourceList() {
  const resources = Object.values(KINDS).flatMap((k) => [
    {
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      shortNames: [...k.shortNames],
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
  return { kind: "APIResourceList", groupVersion: "v1", resources };
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

/** The OpenAPI v3 discovery root: kubectl reads it to learn that the server validates fields itself. */
export function openApiV3Root() {
  return { paths: { "api/v1": { serverRelativeURL: `/openapi/v3/api/v1?hash=${OPENAPI_HASH}` } } };
}

/**
 * Just enough of the core/v1 OpenAPI v3 document for kubectl: each kind's PATCH
 * operation with its group-version-kind and the fieldValidation query parameter,
 * which tells kubectl to leave validation to the server.
 */
export function openApiV3CoreV1() {
  const paths: Record<string, unknown> = {};
  for (const kind of Object.values(KINDS)) {
    const path = kind.namespaced
      ? `/api/v1/namespaces/{namespace}/${kind.plural}/{name}`
      : `/api/v1/${kind.plural}/{name}`;
    paths[path] = {
      patch: {
        operationId: `patchCoreV1${kind.namespaced ? "Namespaced" : ""}${kind.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group: "", version: "v1", kind: kind.kind },
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
