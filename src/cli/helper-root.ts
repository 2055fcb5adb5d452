import { launchHelper } from "../engine/elevation/helper-launch.js";
import { openPrivilegedHelper } from "../engine/elevation/installed-helper-client.js";
import { LazyRoot } from "../engine/elevation/lazy-root.js";
import { isElevated } from "../engine/system/elevation-state.js";

/** Route changes go through the helper unless we are root (where `--helper` still asks for it). */
export function usesHelper(opts: { helper?: boolean }): boolean {
  return opts.helper === true || !isElevated();
}

/** Root starts the helper directly; anyone else goes through sudo (one password), or on Windows the UAC prompt. */
function cliElevation(): "direct" | "sudo" | "gui" {
  if (isElevated()) return "direct";
  return process.platform === "win32" ? "gui" : "sudo";
}

/**
 * How `start` and `cleanup` reach root (docs/architecture.md, "The installed helper"): the installed helper when one
 * answers for this user, otherwise one started through sudo for this session; undefined when this process changes
 * routes itself. Reached at first need: forward mode without low ports or aliases never asks for a password.
 */
export function helperRoot(opts: { helper?: boolean }, miniPath: string, registryPath: string): LazyRoot | undefined {
  if (!usesHelper(opts)) return undefined;
  const say = (line: string) => process.stderr.write(`mktunnel: ${line}\n`);
  return new LazyRoot(() =>
    openPrivilegedHelper(registryPath, () => launchHelper({ miniPath, registryPath, mode: cliElevation() }), say),
  );
}
