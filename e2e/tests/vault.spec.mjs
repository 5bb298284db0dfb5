import { expect, test } from "@playwright/test";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, changePassword, enterEmailAndCode, signUp, submitUnlock, openSection } from "../steps.mjs";

const PASSWORD = "correct horse battery staple";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: FAST_KDF });
});
test.afterAll(async () => {
  await sigil?.stop();
});

test("a new code can be requested after the cooldown, and the newest code works", async ({ page }) => {
  // Its own server, with a cooldown long enough to observe.
  const sigil = await startSigil({ resendGap: 5, serverArgs: FAST_KDF });
  const email = "carol@example.org";
  await page.goto(sigil.baseURL);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("#code-sent")).toContainText(`We emailed a code to ${email}; use the newest one. It expires in 10 minutes`);
  await sigil.codeFor(email);
  const resend = page.locator("#resend");
  await expect(resend).toBeDisabled();
  await expect(resend).toHaveText(/Send a new code \(\d s\)/);
  await expect(resend).toBeEnabled({ timeout: 10_000 });
  await resend.click();
  const newest = await sigil.codeFor(email);
  await page.getByLabel("Code from the email").fill(newest);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await sigil.stop();
});

test("the vault shows the default relays, copies the npub and can delete the account", async ({ page, context }, testInfo) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const email = "dave@example.org";
  const npub = await signUp(page, sigil, email, PASSWORD);

  await expect(page.getByTestId("relays").getByRole("listitem")).toHaveText(sigil.info.default_relays);
  // The QR code (drawn on request), read back from the pixels on screen, is the npub.
  await page.getByRole("button", { name: "Show as a QR code" }).click();
  await expect(page.getByTestId("npub-qr").locator("svg")).toBeVisible();
  await expect(page.getByRole("button", { name: "Show as a QR code" })).toBeHidden();
  const image = PNG.sync.read(await page.getByTestId("npub-qr").screenshot());
  expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(npub);
  await page.getByRole("button", { name: "Copy npub" }).click();
  await expect(page.locator("#status")).toHaveText("Copied your npub.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(npub);
  await page.screenshot({ path: testInfo.outputPath("vault.png"), fullPage: true });

  // Deleting asks for the password, as export does: an open screen alone is not enough.
  await openSection(page, "Security");
  await page.getByText("Delete your account").click();
  page.on("dialog", (dialog) => dialog.accept());
  await page.locator("#delete-password").fill("not the password at all");
  await page.getByRole("button", { name: "Delete account…" }).click();
  await expect(page.locator("#delete-error")).toContainText("does not unlock this vault");
  await expect(page.getByTestId("npub")).toHaveText(npub);
  await page.locator("#delete-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Delete account…" }).click();
  await expect(page.locator("#status")).toHaveText("Your account was deleted.");
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
  // Deleted on this device too: a reload starts from the first step, not the unlock screen.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();

  // The address is free again: signing up gives a new key.
  expect(await signUp(page, sigil, email, PASSWORD)).not.toBe(npub);
});

test("change the password, then export and show the key with it", async ({ page, browser }, testInfo) => {
  const email = "erin@example.org";
  const NEW_PASSWORD = "a different passphrase entirely";
  const npub = await signUp(page, sigil, email, PASSWORD);

  await changePassword(page, "not my password", NEW_PASSWORD);
  await expect(page.locator("#change-error")).toContainText("does not unlock this vault");
  await changePassword(page, PASSWORD, NEW_PASSWORD);
  await expect(page.locator("#status")).toHaveText("Your password was changed.", { timeout: 30_000 });
  await expect(page.locator("#sync-status")).toHaveText("Your new password is saved on the server.");

  await page.locator("summary", { hasText: "Export or show your key" }).click();
  await page.locator("#export-password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Export encrypted key (NIP-49)" }).click();
  await expect(page.getByTestId("key-output")).toHaveText(/^ncryptsec1/, { timeout: 30_000 });
  page.once("dialog", (dialog) => dialog.accept());
  await page.locator("#export-password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Show nsec…" }).click();
  await expect(page.getByTestId("key-output")).toHaveText(/^nsec1/);
  await page.screenshot({ path: testInfo.outputPath("vault-actions.png"), fullPage: true });

  // Another device: the old password is refused, the new one opens the same key.
  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, PASSWORD);
  await expect(second.locator("#unlock-error")).toContainText("does not unlock this vault");
  await submitUnlock(second, NEW_PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await device.close();
});

test("an open vault locks itself after 15 idle minutes", async ({ page }) => {
  await page.clock.install();
  const email = "idle@example.org";
  await signUp(page, sigil, email, PASSWORD);

  // Activity postpones the lock...
  await page.clock.fastForward("14:00");
  await page.getByRole("heading", { name: "Your Nostr identity" }).click();
  await page.clock.fastForward("14:00");
  await expect(page.getByTestId("npub")).toBeVisible();
  // ...and 15 minutes without any locks the vault and reloads the page.
  await page.clock.fastForward("01:01");
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await expect(page.getByTestId("npub")).toBeHidden();
});

test("removing the vault from this device leaves only the first step", async ({ page }) => {
  const email = "stolen.laptop@example.org";
  await signUp(page, sigil, email, PASSWORD);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Remove from this device…" }).click();
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible({ timeout: 30_000 });
  // Nothing of the vault is left in IndexedDB: a reload does not offer to unlock it.
  const saved = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const open = indexedDB.open("sigil");
        open.onsuccess = () => {
          const get = open.result.transaction("vault").objectStore("vault").get("local");
          get.onsuccess = () => resolve(get.result ?? null);
          get.onerror = () => resolve(null);
        };
        open.onerror = () => resolve(null);
      }),
  );
  expect(saved).toBeNull();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
});
