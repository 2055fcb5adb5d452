import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "bench/.build/**", "test-support/.build/**", "release/**", "e2e/output/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests and the API simulator handle open-ended Kubernetes JSON.
    files: ["**/*.test.ts", "test-support/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // DESIGN §2: only the Electron glue may touch electron.
    files: ["**/*.ts", "**/*.tsx", "**/*.js", "**/*.mjs"],
    ignores: ["src/main/**", "src/preload/**"],
    rules: {
      "no-restricted-imports": ["error", { paths: [{ name: "electron", message: "Only src/main and src/preload may import electron (DESIGN §2)." }], patterns: [{ group: ["electron/*"], message: "Only src/main and src/preload may import electron (DESIGN §2)." }] }],
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.name='require'][arguments.0.value='electron']", message: "Only src/main and src/preload may import electron (DESIGN §2)." }],
    },
  },
);
