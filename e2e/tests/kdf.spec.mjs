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

// A worker as the vault's: the client module and the lane module, with `helpers` lane workers over
// a shared memory, or none and a memory of its own (`share` false: a page that is not cross-origin
// isolated). Served by the test (the page's policy allows same-origin workers) with the headers
// the server sends, from the build's own directory (so its imports are relative).
const LANES_WORKER = `
import init, { argon2id_hash, use_lane_module } from "./sigil-client.js";
import { startLanes } from "./argon2-lanes.js";
self.onmessage = async ({ data: { cases, password, salt, helpers, share, sabotage } }) => {
  try {
    await init({ module_or_path: "./sigil-client_bg.wasm" });
    const lanes = await startLanes({ wasmUrl: "./sigil-lanes.wasm", workerUrl: "./argon2-lane-worker.js", helpers, share });
    if (!lanes) throw new Error("the lane module did not load");
    use_lane_module(lanes);
    // As if a lane worker had failed: the first sync point of the next hash gives up.
    if (sabotage) Atomics.store(lanes.shared.control, 3, 1);
    const hashes = cases.map(([m, t, p]) => Array.from(argon2id_hash(new TextEncoder().encode(password), Uint8Array.from(salt), m, t, p)));
    self.postMessage({ hashes, jobs: lanes.jobs, ready: lanes.ready(), sideBySide: lanes.sideBySide, broken: lanes.broken });
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};`;

const password = "pässwörd ✓";
const salt = [...Buffer.from("8d5c0f6a1b2e3f4091a2b3c4d5e6f708", "hex")];

const reference = (cases) =>
  Promise.all(
    cases.map(([m, t, p]) =>
      argon2id({ password, salt: Uint8Array.from(salt), parallelism: p, iterations: t, memorySize: m, hashLength: 32, outputType: "hex" }),
    ),
  );

async function hashInWorker(page, data) {
  const answer = await page.evaluate(
    (data) =>
      new Promise((resolve) => {
        // Relative: beside the build's files, where the page's <base> points.
        const worker = new Worker("lanes-test-worker.js", { type: "module" });
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (event) => resolve({ error: event.message ?? "worker error" });
        worker.postMessage(data);
      }),
    { ...data, password, salt },
  );
  expect(answer.error, JSON.stringify(data)).toBeUndefined();
  return { ...answer, hashes: answer.hashes.map((h) => Buffer.from(h).toString("hex")) };
}

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil();
});
test.afterAll(async () => {
  await sigil?.stop();
});

test.beforeEach(async ({ page }) => {
  await page.route("**/lanes-test-worker.js", (route) =>
    route.fulfill({
      contentType: "text/javascript",
      headers: { "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" },
      body: LANES_WORKER,
    }),
  );
  await page.goto(sigil.baseURL);
  await expect(page.locator("#screen-email")).toBeVisible();
});

test("the client's Argon2id gives the reference answer in the browser, lanes on one thread", async ({ page }) => {
  const answer = await hashInWorker(page, { cases: CASES, helpers: 0, share: false });
  expect(answer.hashes).toEqual(await reference(CASES));
  expect(answer.jobs, "every hash went to the lane module").toBe(CASES.length);
  expect(answer.sideBySide).toBe(0);
});

test("lanes filled side by side in lane workers give the reference answer", async ({ page }) => {
  expect(await page.evaluate(() => self.crossOriginIsolated), "the server's headers isolate the page").toBe(true);
  const cases = CASES.concat([[96, 2, 3]]);
  const expected = await reference(cases);
  // One lane worker (lanes shared unevenly at p = 3) and three (a lane each at p = 4).
  for (const helpers of [1, 3]) {
    const answer = await hashInWorker(page, { cases, helpers, share: true });
    expect(answer.hashes, `helpers=${helpers}`).toEqual(expected);
    expect(answer.ready, "every lane worker started").toBe(helpers);
    expect(answer.jobs).toBe(cases.length);
    expect(answer.sideBySide, "every hash of several lanes went to the lane workers").toBe(cases.filter(([, , p]) => p > 1).length);
  }
});

test("when a lane worker fails, the vault's worker fills the lanes alone and gets the same key", async ({ page }) => {
  const cases = [[65536, 3, 4], [1000, 3, 3]];
  const answer = await hashInWorker(page, { cases, helpers: 1, share: true, sabotage: true });
  expect(answer.hashes).toEqual(await reference(cases));
  expect(answer.broken, "the lane workers are no longer used").toBe(true);
  expect(answer.sideBySide).toBe(0);
});
