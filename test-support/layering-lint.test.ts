import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

async function ruleIds(code: string, file: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe("layering rule (DESIGN §2)", () => {
  it.each(["src/engine/x.ts", "src/shared/x.ts", "src/renderer/x.ts", "src/cli/x.ts", "src/helper/x.ts"])("refuses electron in %s", async (file) => {
    expect(await ruleIds('import { app } from "electron";\nexport const a = app;\n', file)).toContain("no-restricted-imports");
    expect(await ruleIds('const e = require("electron");\nexport const a = e;\n', file)).toContain("no-restricted-syntax");
  });

  it.each(["src/main/x.ts", "src/preload/x.ts"])("allows electron in %s", async (file) => {
    expect(await ruleIds('import { app } from "electron";\nexport const a = app;\n', file)).toEqual([]);
  });
});
