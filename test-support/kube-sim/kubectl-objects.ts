import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeObject } from "./object-store.js";
import { KINDS, groupVersion } from "./resource-kinds.js";

type Kubectl = (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

const KIND_BY_NAME = new Map(Object.values(KINDS).map((k) => [k.kind, k]));

/**
 * Puts network-fixtures.ts objects into a simulator that runs as its own process (kube-sim-serve), as a user and the
 * cluster's controllers would: `kubectl create` for the objects, then their status through the status subresource
 * (the kubelet's part for a Pod, the controller's for the rest). `dir` holds the manifest.
 */
export async function createWithKubectl(kubectl: Kubectl, dir: string, objects: readonly KubeObject[]): Promise<void> {
  const items = objects.map(({ status: _status, ...object }) => {
    const kind = KIND_BY_NAME.get(object.kind);
    if (!kind) throw new Error(`no kind ${object.kind} in the simulator`);
    return { apiVersion: groupVersion(kind), ...object };
  });
  const manifest = join(dir, `objects-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  await writeFile(manifest, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  // The simulator serves no OpenAPI schema for kubectl to validate against.
  await kubectl("create", "--validate=false", "-f", manifest);
  for (const object of objects) {
    if (object.status === undefined) continue;
    const kind = KIND_BY_NAME.get(object.kind)!;
    await kubectl(
      "patch",
      `${kind.plural}.${kind.group === "" ? "" : kind.group}`.replace(/\.$/, ""),
      object.metadata.name,
      ...(kind.namespaced ? ["-n", object.metadata.namespace ?? "default"] : []),
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: object.status }),
    );
  }
}
