import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test-support/**/*.test.ts", "e2e/**/*.spec.ts"],
    // The run's mark and temporary folder, and at its end the check that nothing it started still runs.
    globalSetup: ["test-support/global-setup.ts"],
    // Each file's own temporary folder, and after the file the check that nothing it started still runs.
    setupFiles: ["test-support/file-setup.ts"],
    pool: "forks",
    // No test may reach this machine's own systemd-resolved: a tunnel started without the real-resolved
    // lab's bus finds no resolver, and route mode falls back to the hosts file (a private copy in tests).
    env: { DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/nonexistent/mkt-tests-have-no-system-bus" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
