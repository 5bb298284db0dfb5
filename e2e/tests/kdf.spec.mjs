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
