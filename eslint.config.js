import { builtinModules } from "node:module";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

// Layers and what each may import: docs/architecture.md, "Layers". Enforced
// with ESLint's own no-restricted-imports / no-restricted-globals, so a
// violation fails `npm run lint` (test-support/layering-lint.test.ts plants one
// of each).
const NODE = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].filter((m) => !m.startsWith("_"));
const NODE_GLOBALS = [
  "Buffer",
  "process",
  "require",
  "__dirname",
  "__filename",
  "global",
  "setImmediate",
  "clearImmediate",
];
const SOURCES = ["**/*.ts", "**/*.tsx"];
const TESTS = ["**/*.test.ts", "**/*.test.tsx"];

/** An import of another layer, however many `../` it takes to get there. */
const layer = (name) => ({
  regex: `^(\\.\\./)+(src/)?${name}(/|$)`,
  message: `imports point downward only: this layer may not import src/${name} (docs/architecture.md, "Layers")`,
});
const packages = (names, why) => names.map((name) => ({ name, message: why }));
const nodeBuiltins = (why) => packages(NODE, why);
const electron = packages(
  ["electron"],
  'only src/main and src/preload may import electron (docs/architecture.md, "Layers")',
);
const react = packages(["react", "react-dom", "react-dom/client"], "only src/renderer may import React");

/**
 * Root's module: outside src/engine/root and src/helper, only its public face
 * (root/index.ts) may be imported; the writers of routes, names and
 * privileged files behind it may not (docs/architecture.md, "The root boundary").
 */
const rootInternals = {
  regex: "^(\\.\\.?/)+(src/)?(engine/)?root/(?!index\\.js$)",
  message:
    'only src/engine/root and src/helper import root\'s writers; use src/engine/root/index.ts (docs/architecture.md, "The root boundary")',
};

function rule(files, { paths = [], patterns = [], globals = [], ignores = [] }) {
  const config = {
    files,
    ignores: [...TESTS, ...ignores],
    rules: { "no-restricted-imports": ["error", { paths, patterns }] },
  };
  if (globals.length > 0)
    config.rules["no-restricted-globals"] = [
      "error",
      ...globals.map((name) => ({ name, message: `${name} is Node's; this layer runs in the browser too` })),
    ];
  return config;
}

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "coverage/**",
      "bench/.build/**",
      "test-support/.build/**",
      "release/**",
      "e2e/output/**",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: SOURCES,
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
    // Electron anywhere outside the glue, tests and tools included (a require() too).
    files: [...SOURCES, "**/*.js", "**/*.mjs"],
    ignores: ["src/main/**", "src/preload/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: electron, patterns: [{ group: ["electron/*"], message: electron[0].message }] },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value='electron']",
          message: electron[0].message,
        },
      ],
    },
  },
  rule(["src/shared/**"], {
    paths: [...nodeBuiltins("src/shared runs in the browser too: no Node modules"), ...electron, ...react],
    patterns: [
      { regex: "^\\.\\./", message: 'src/shared imports nothing outside itself (docs/architecture.md, "Layers")' },
    ],
    globals: NODE_GLOBALS,
  }),
  rule(["src/renderer/**"], {
    paths: [...nodeBuiltins("the renderer is a sandboxed page: no Node modules"), ...electron],
    patterns: ["engine", "app", "main", "preload", "cli", "helper", "test-support"].map(layer),
    globals: NODE_GLOBALS,
  }),
  rule(["src/preload/**"], {
    paths: [...nodeBuiltins("the preload runs sandboxed: no Node modules"), ...react],
    patterns: ["engine", "app", "main", "renderer", "cli", "helper", "test-support"].map(layer),
    globals: NODE_GLOBALS.filter((g) => g !== "process" && g !== "require"),
  }),
  rule(["src/engine/**"], {
    paths: [...electron, ...react],
    patterns: [...["app", "main", "preload", "renderer", "cli", "helper", "test-support"].map(layer), rootInternals],
    ignores: ["src/engine/root/**"],
  }),
  rule(["src/engine/root/**"], {
    paths: [...electron, ...react],
    patterns: ["app", "main", "preload", "renderer", "cli", "helper", "test-support"].map(layer),
  }),
  rule(["src/app/**"], {
    paths: [...electron, ...react],
    patterns: [...["main", "preload", "renderer", "cli", "helper", "test-support"].map(layer), rootInternals],
  }),
  rule(["src/helper/**"], {
    paths: [...electron, ...react],
    patterns: ["app", "main", "preload", "renderer", "cli", "test-support"].map(layer),
  }),
  rule(["src/cli/**"], {
    paths: [...electron, ...react],
    patterns: [...["app", "main", "preload", "renderer", "helper", "test-support"].map(layer), rootInternals],
  }),
  rule(["src/main/**"], {
    paths: react,
    patterns: [...["renderer", "preload", "cli", "helper", "test-support"].map(layer), rootInternals],
  }),
  // Layout is Prettier's (npm run lint runs prettier --check); no ESLint rule may disagree with it.
  prettier,
);
