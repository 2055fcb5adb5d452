import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const eslint = new ESLint({ cwd: root });

/** Lints `code` as if it were `file`; returns the rules that fired. */
async function ruleIds(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}
const importOf = (what: string) => `import * as m from "${what}";\nexport const a = m;\n`;

// Each row of the layer table in docs/architecture.md, planted as a violation.
const violations: [file: string, code: string, rule: string][] = [
  ["src/shared/x.ts", importOf("node:fs"), "no-restricted-imports"],
  ["src/shared/x.ts", importOf("fs"), "no-restricted-imports"],
  ["src/shared/x.ts", "export const b = Buffer.from('a');\n", "no-restricted-globals"],
  ["src/shared/x.ts", "export const e = process.env;\n", "no-restricted-globals"],
  ["src/shared/x.ts", importOf("../engine/engine.js"), "no-restricted-imports"],
  ["src/shared/x.ts", importOf("react"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("../engine/engine.js"), "no-restricted-imports"],
  ["src/renderer/views/x.tsx", importOf("../../engine/lb/lb-controller.js"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("../main/main.js"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("../preload/preload.js"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("node:path"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("electron"), "no-restricted-imports"],
  ["src/preload/x.ts", importOf("../engine/engine.js"), "no-restricted-imports"],
  ["src/preload/x.ts", importOf("../renderer/App.js"), "no-restricted-imports"],
  ["src/preload/x.ts", importOf("node:fs"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("electron"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("react"), "no-restricted-imports"],
  ["src/engine/lb/x.ts", importOf("../../main/main.js"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("../cli/mktunnel.js"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("../helper/helper-main.js"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("../renderer/App.js"), "no-restricted-imports"],
  ["src/helper/x.ts", importOf("../main/main.js"), "no-restricted-imports"],
  ["src/helper/x.ts", importOf("../cli/mktunnel.js"), "no-restricted-imports"],
  ["src/helper/x.ts", importOf("electron"), "no-restricted-imports"],
  ["src/cli/x.ts", importOf("../main/main.js"), "no-restricted-imports"],
  ["src/cli/x.ts", importOf("../helper/helper-main.js"), "no-restricted-imports"],
  ["src/cli/x.ts", importOf("electron"), "no-restricted-imports"],
  ["src/main/x.ts", importOf("../renderer/App.js"), "no-restricted-imports"],
  ["src/main/x.ts", importOf("../cli/mktunnel.js"), "no-restricted-imports"],
  ["src/main/x.ts", importOf("react"), "no-restricted-imports"],
  ["src/engine/x.ts", importOf("../app/app-model.js"), "no-restricted-imports"],
  ["src/engine/tunnels/x.ts", importOf("../../app/app-model.js"), "no-restricted-imports"],
  ["src/app/x.ts", importOf("electron"), "no-restricted-imports"],
  ["src/app/x.ts", importOf("../main/main.js"), "no-restricted-imports"],
  ["src/app/x.ts", importOf("../cli/mktunnel.js"), "no-restricted-imports"],
  ["src/app/x.ts", importOf("react"), "no-restricted-imports"],
  ["src/cli/x.ts", importOf("../app/app-model.js"), "no-restricted-imports"],
  ["src/helper/x.ts", importOf("../app/app-model.js"), "no-restricted-imports"],
  ["src/renderer/x.ts", importOf("../app/app-model.js"), "no-restricted-imports"],
  ["src/engine/x.ts", 'const e = require("electron");\nexport const a = e;\n', "no-restricted-syntax"],
];

// What each layer may import, which must stay allowed.
const allowed: [file: string, code: string][] = [
  ["src/shared/x.ts", importOf("./cidr.js")],
  ["src/shared/x.ts", importOf("zod")],
  ["src/renderer/x.ts", importOf("../shared/app-state.js")],
  ["src/renderer/views/x.tsx", importOf("react")],
  ["src/preload/x.ts", importOf("electron")],
  ["src/preload/x.ts", importOf("../shared/ipc-channels.js")],
  ["src/engine/x.ts", importOf("node:fs")],
  ["src/engine/lb/x.ts", importOf("../../shared/cidr.js")],
  ["src/helper/x.ts", importOf("../engine/engine.js")],
  ["src/cli/x.ts", importOf("../engine/engine.js")],
  ["src/main/x.ts", importOf("electron")],
  ["src/main/x.ts", importOf("../engine/engine.js")],
  ["src/main/x.ts", importOf("../app/app-model.js")],
  ["src/app/x.ts", importOf("../engine/engine.js")],
  ["src/app/x.ts", importOf("../shared/app-state.js")],
];

describe("layers (docs/architecture.md): lint fails on every planted violation", () => {
  it.each(violations)("%s: %j is refused", async (file, code, rule) => {
    expect(await ruleIds(code, file)).toContain(rule);
  });

  it.each(allowed)("%s: %j is allowed", async (file, code) => {
    expect(await ruleIds(code, file)).toEqual([]);
  });
});
