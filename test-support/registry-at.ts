import { dirname } from "node:path";
import { RegistryFile, type RegistryFileOptions } from "../src/engine/registry/registry-file.js";
import { fileAccessFor } from "../src/engine/root/index.js";

/** A registry as the product opens one: guarded when the test runs as root, plain otherwise. */
export function registryAt(path: string, options: RegistryFileOptions = {}): RegistryFile {
  return new RegistryFile(path, { files: fileAccessFor(dirname(path)), ...options });
}
