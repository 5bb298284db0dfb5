// Long work shows progress and leaves the page responsive: Argon2id and the proof of work run in
// workers, the proof of work in several at once when the server asks for a lot of it.
import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, signUp } from "../steps.mjs";

test("with a high proof-of-work difficulty, mining runs in several workers and shows progress", async ({ page }, testInfo) => {
  const sigil = await startSigil({ serverArgs: [...FAST_KDF, "--pow-difficulty", "20"] });
  const workerScripts = [];
  page.context().on("request", (request) => {
    if (request.url().endsWith("/pow-worker.js")) workerScripts.push(request.url());
  });
  // Every text the status line shows, and whether the page kept answering meanwhile.
  await page.addInitScript(() => {
    window.statusLog = [];
    window.ticks = 0;
    setInterval(() => window.ticks++, 50);
    document.addEventListener("DOMContentLoaded", () => {
      const status = document.getElementById("status");
      new MutationObserver(() => window.statusLog.push(`${Date.now() % 100000} ${status.textContent}`)).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
  });
  const started = Date.now();
  await signUp(page, sigil, "miner@example.org", "correct horse battery staple");
  const seconds = (Date.now() - started) / 1000;
  const log = (await page.evaluate(() => window.statusLog)).map((entry) => entry.replace(/^\d+ /, ""));
  expect(log.some((text) => /^Proof of work against spam: \d+\.\d of about 1\.0 million hashes…$/.test(text)), log.join("\n")).toBe(true);
  expect(log).toContain("Deriving the encryption key from your password (Argon2id)…");
  expect(log).toContain("Sending to the server…");
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  // One worker per core for each of the three mined requests (request_code, verify_code, activate);
  // the service worker's own fetches of the script count too.
  expect(cores).toBeGreaterThan(1);
  expect(workerScripts.length).toBeGreaterThanOrEqual(3 * Math.min(cores, 8));
  // The page's own timer kept running: at least half its ticks arrived while the work ran.
  expect(await page.evaluate(() => window.ticks)).toBeGreaterThan((seconds * 20) / 2);
  await page.screenshot({ path: testInfo.outputPath("vault-after-mining.png"), fullPage: true });
  await sigil.stop();
});
