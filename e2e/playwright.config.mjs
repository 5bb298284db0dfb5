// Playwright with the system Chromium (Debian's package): Playwright's own browser downloads are
// neither needed nor possible here. Screenshots of every test are kept as artifacts.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  outputDir: "artifacts/results",
  // Two cores: one browser at a time keeps timings honest.
  workers: 1,
  timeout: 90_000,
  // Shared two-core machines: proof of work and Argon2 in the browser can take a while under load.
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    screenshot: "on",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
