import fastJsonPatch from "fast-json-patch";
import { ApiError, type KubeObject } from "./object-store.js";

const isObject = (v: unknown): v is KubeObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: KubeObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Lists the core/v1 types merge by key under a strategic merge patch; any other list is replaced. */
const MERGE_KEYS: Record<string, string> = { ports: "port", conditions: "type", addresses: "type", finalizers: "" };

function strategicMerge(target: unknown, patch: unknown, field: string | null): unknown {
  if (Array.isArray(patch) && Array.isArray(target) && field !== null && field in MERGE_KEYS) {
    const key = MERGE_KEYS[field];
    if (!key) return [...new Set([...target, ...patch])];
    const result = target.map((item) => structuredClone(item) as KubeObject);
    for (const item of patch as KubeObject[]) {
      const index = result.findIndex((existing) => existing[key] === item[key]);
      if (item.$patch === "delete") {
        if (index >= 0) result.splice(index, 1);
      } else if (index >= 0) result[index] = strategicMerge(result[index], item, null) as KubeObject;
      else result.push(item);
    }
    return result;
  }
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === "replace") {
    const { $patch: _ignored, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: KubeObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    if (value === null) delete result[key];
    else result[key] = strategicMerge(result[key], value, key);
  }
  return result;
}

export function applyPatch(contentType: string, target: KubeObject, body: string): KubeObject {
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (error) {
    throw new ApiError(400, "BadRequest", `error decoding patch: ${(error as Error).message}`);
  }
  const type = contentType.split(";")[0]?.trim();
  switch (type) {
    case "application/merge-patch+json":
      if (!isObject(patch)) throw new ApiError(400, "BadRequest", "merge patch must be a JSON object");
      return mergePatch(target, patch) as KubeObject;
    case "application/strategic-merge-patch+json":
      if (!isObject(patch)) throw new ApiError(400, "BadRequest", "strategic merge patch must be a JSON object");
      return strategicMerge(target, patch, null) as KubeObject;
    case "application/json-patch+json": {
      if (!Array.isArray(patch)) throw new ApiError(400, "BadRequest", "json patch must be a JSON array of operations");
      try {
        return fastJsonPatch.applyPatch(structuredClone(target), patch as fastJsonPatch.Operation[], true, false)
          .newDocument as KubeObject;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === "TEST_OPERATION_FAILED")
          throw new ApiError(
            422,
            "Invalid",
            `the server rejected our request due to an error in our request: testing value failed`,
          );
        throw new ApiError(
          422,
          "Invalid",
          `the server rejected our request due to an error in our request: ${(error as Error).message.split("\n")[0]}`,
        );
      }
    }
    default:
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
  }
}
