import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globFiles, parseCircular, parseDependencyTree } from "dpdm";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

/** Import cycles among `files`, type-only imports included (they still tie two modules together). */
async function cycles(cwd: string, patterns: string[]): Promise<string[][]> {
  const files = (await Promise.all(patterns.map((p) => globFiles(p, cwd))))
    .flat()
    .filter((f) => !/[\\/](node_modules|\.build)[\\/]/.test(f));
  const tree = await parseDependencyTree(files, {
    cwd,
    context: cwd,
    transform: false,
    skipDynamicImports: false,
    extensions: [".ts", ".tsx", ".js", ".mjs"],
    include: /\.(ts|tsx|js|mjs)$/,
    exclude: /node_modules/,
  });
  return parseCircular(tree, true);
}

describe('no import cycles (docs/architecture.md, "Layers")', () => {
  it("src, test-support, e2e and bench have none", async () => {
    expect(await cycles(root, ["src/**/*.{ts,tsx}", "test-support/**/*.ts", "e2e/**/*.ts", "bench/**/*.ts"])).toEqual(
      [],
    );
  }, 60_000);

  it("a planted type-only cycle is found", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mkt-cycle-"));
    try {
      // The same module resolution as the project's, which maps "./b.js" to b.ts.
      await writeFile(
        join(dir, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext" } }),
      );
      await writeFile(join(dir, "a.ts"), 'import type { B } from "./b.js";\nexport type A = B;\n');
      await writeFile(join(dir, "b.ts"), 'import type { A } from "./a.js";\nexport type B = A | 1;\n');
      expect(await cycles(dir, ["*.ts"])).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
