// Bringing an existing key at signup: an nsec, or an ncryptsec (NIP-49, made here by nostr-tools)
// with its password, shown as its npub before anything is sent, then sealed like a new key.
import { expect, test } from "@playwright/test";
import { generateSecretKey, getPublicKey, nip19 } from "nostr-tools";
import * as nip49 from "nostr-tools/nip49";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, encodings, enterEmailAndCode, recordExchanges, saveKit } from "../steps.mjs";

const PASSWORD = "unique-password-import-3f9a";

/** On the choose-password screen: pastes `key` (and its password) into "I already have a Nostr key". */
async function bringKey(page, key, password = "") {
  const form = page.locator("#import-form");
  if (!(await form.isVisible())) await page.locator("#import summary").click();
  await form.getByLabel("Your nsec, or an ncryptsec (NIP-49)").fill(key);
  await form.getByLabel("The ncryptsec's password (not needed for an nsec)").fill(password);
  await form.getByRole("button", { name: "Check the key" }).click();
}

async function createWith(page, password) {
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create my key" }).click();
  await saveKit(page);
}

test("an nsec brought at signup is shown as its npub, sealed, and never sent", async ({ page }) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const exchanges = [];
  recordExchanges(page.context(), exchanges);
  const secret = generateSecretKey();
  const nsec = nip19.nsecEncode(secret);
  const npub = nip19.npubEncode(getPublicKey(secret));

  await enterEmailAndCode(page, sigil, "brought.nsec@example.org");
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await bringKey(page, "npub1notasecretkey");
  await expect(page.locator("#import-error")).toHaveText("Paste a key that starts with nsec1 or ncryptsec1.");
  await bringKey(page, nsec);
  await expect(page.getByTestId("import-result")).toContainText(`Your account will use this key: ${npub}.`);
  await expect(page.getByTestId("import-result")).not.toContainText("Warning");
  // The field is cleared once the key went to the vault worker.
  await expect(page.locator("#import-key")).toHaveValue("");
  await createWith(page, PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(npub);

  const secrets = [nsec, ...encodings(secret)];
  expect(exchanges.filter((e) => e.url.endsWith("/api/v1/events")).length).toBeGreaterThanOrEqual(3);
  for (const exchange of exchanges) {
    const everything = Object.values(exchange).join("\n");
    for (const leaked of secrets) expect(everything, exchange.url).not.toContain(leaked);
  }
  await sigil.stop();
});

test("an ncryptsec needs its password, warns when NIP-49 says the key was handled insecurely, and can be set aside", async ({ page }) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const secret = generateSecretKey();
  const npub = nip19.npubEncode(getPublicKey(secret));
  const insecure = nip49.encrypt(secret, "the ncryptsec password", 16, 0x00);

  await enterEmailAndCode(page, sigil, "brought.ncryptsec@example.org");
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await bringKey(page, insecure);
  await expect(page.locator("#import-error")).toHaveText("Enter the password this ncryptsec was encrypted with.");
  await bringKey(page, insecure, "not its password");
  await expect(page.locator("#import-error")).toHaveText("That password does not open this ncryptsec.");
  await bringKey(page, insecure, "the ncryptsec password");
  await expect(page.getByTestId("import-result")).toContainText(npub);
  await expect(page.getByTestId("import-result")).toContainText("Warning: this ncryptsec says the key was handled insecurely before");

  // Set aside: the account gets a new key instead.
  await page.getByRole("button", { name: "Use a new key instead" }).click();
  await expect(page.getByTestId("import-result")).toHaveText("");
  await createWith(page, PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/);
  await expect(page.getByTestId("npub")).not.toHaveText(npub);
  await sigil.stop();
});
