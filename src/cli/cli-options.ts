import { type Allowances, allowancesSchema } from "../engine/root/index.js";
import { CliError } from "./cli-errors.js";

export function collectText(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * What root in this process may do beyond the fixed rules; only root can say so (a helper's user cannot widen the
 * helper).
 */
export function allowancesOf(
  opts: { allowCidr?: string[]; allowDomain?: string[] },
  throughHelper: boolean,
): Allowances | null {
  if (!opts.allowCidr && !opts.allowDomain) return null;
  if (throughHelper)
    throw new CliError(
      "--allow-cidr and --allow-domain widen root's policy, so only root gives them: run mktunnel as root, or install the helper with them (sudo mktunnel helper install --allow-cidr …)",
      2,
    );
  const parsed = allowancesSchema.safeParse({ cidrs: opts.allowCidr ?? [], domains: opts.allowDomain ?? [] });
  if (!parsed.success)
    throw new CliError(`--allow-cidr/--allow-domain: ${parsed.error.issues[0]?.message ?? "invalid"}`, 2);
  return parsed.data;
}
