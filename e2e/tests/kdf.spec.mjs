import { expect, test } from "@playwright/test";
import { argon2id } from "hash-wasm";
import { startSigil } from "../harness.mjs";

// Sigil's own Argon2id, in the SIMD128 build Chromium runs, against an independent implementation
// (hash-wasm, the reference C), over shapes that exercise every path: one and several lanes,
// segments shorter and longer than one address block, one and several passes, the vault default.
const CASES = [
  [8, 1, 1],
  [64, 2, 2],
  [1000, 3, 3],
  [4100, 1, 4],
  [65536, 3, 4],
];

test("the client's Argon2id gives the reference answer in the browser", async ({ page }) => {
  const sigil = await startSigil();
  try {
    await page.goto(sigil.baseURL);
    await expect(page.locator("#screen-email")).toBeVisible();
    const password = "pässwörd ✓";
    const salt = [...Buffer.from("8d5c0f6a1b2e3f4091a2b3c4d5e6f708", "hex")];
    for (const [m, t, p] of CASES) {
      // The page has already loaded the module; importing it again returns that instance.
      const ours = await page.evaluate(
        async ({ password, salt, m, t, p }) => {
          const sigil = await import("/sigil-client.js");
          return Array.from(sigil.argon2id_hash(new TextEncoder().encode(password), Uint8Array.from(salt), m, t, p));
        },
        { password, salt, m, t, p },
      );
      const reference = await argon2id({
        password, salt: Uint8Array.from(salt), parallelism: p, iterations: t, memorySize: m, hashLength: 32, outputType: "hex",
      });
      expect(Buffer.from(ours).toString("hex"), `m=${m} t=${t} p=${p}`).toBe(reference);
    }
  } finally {
    await sigil.stop();
  }
});

// A worker as the vault's: the client module, with lane workers when `helpers` > 0. Served by the
// test (the page's policy allows same-origin workers), with the headers the server sends.
const LANES_WORKER = `
import init, { argon2id_hash, use_parallel_lanes } from "/sigil-client.js";
import { startLanes } from "/argon2-lanes.js";
self.onmessage = async ({ data: { cases, password, salt, helpers } }) => {
  try {
    await init({ module_or_path: "/sigil-client_bg.wasm" });
    const lanes = await startLanes({ wasmUrl: "/sigil-lanes.wasm", workerUrl: "/argon2-lane-worker.js", helpers });
    if (!lanes) throw new Error("no lane workers (crossOriginIsolated: " + self.crossOriginIsolated + ")");
    use_parallel_lanes(lanes);
    const hashes = cases.map(([m, t, p]) => Array.from(argon2id_hash(new TextEncoder().encode(password), Uint8Array.from(salt), m, t, p)));
    self.postMessage({ hashes, jobs: lanes.jobs });
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};`;

test("lanes filled side by side in lane workers give the reference answer", async ({ page }) => {
  const sigil = await startSigil();
  try {
    await page.route("**/lanes-test-worker.js", (route) =>
      route.fulfill({
        contentType: "text/javascript",
        headers: { "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" },
        body: LANES_WORKER,
      }),
    );
    await page.goto(sigil.baseURL);
    await expect(page.locator("#screen-email")).toBeVisible();
    expect(await page.evaluate(() => self.crossOriginIsolated), "the server's headers isolate the page").toBe(true);
    const password = "pässwörd ✓";
    const salt = [...Buffer.from("8d5c0f6a1b2e3f4091a2b3c4d5e6f708", "hex")];
    const several = CASES.filter(([, , p]) => p > 1).concat([[96, 2, 3]]);
    const expected = await Promise.all(
      several.map(([m, t, p]) =>
        argon2id({ password, salt: Uint8Array.from(salt), parallelism: p, iterations: t, memorySize: m, hashLength: 32, outputType: "hex" }),
      ),
    );
    // One lane worker (lanes shared unevenly at p = 3) and three (a lane each at p = 4).
    for (const helpers of [1, 3]) {
      const answer = await page.evaluate(
        (data) =>
          new Promise((resolve) => {
            const worker = new Worker("/lanes-test-worker.js", { type: "module" });
            worker.onmessage = ({ data }) => resolve(data);
            worker.onerror = (event) => resolve({ error: event.message ?? "worker error" });
            worker.postMessage(data);
          }),
        { cases: several, password, salt, helpers },
      );
      expect(answer.error, `helpers=${helpers}`).toBeUndefined();
      expect(answer.hashes.map((h) => Buffer.from(h).toString("hex")), `helpers=${helpers}`).toEqual(expected);
      expect(answer.jobs, "every hash went to the lane workers").toBe(several.length);
    }
  } finally {
    await sigil.stop();
  }
});
