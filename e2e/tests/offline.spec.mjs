// Journeys 3 and 4: the same device, with no network. The service worker opens the page, the
// vault comes from IndexedDB, a password change waits for the server and syncs when it is back;
// a change made on two devices at once is settled by the user without losing either backup.
import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, changePassword, enterEmailAndCode, shellCached, signUp, submitUnlock } from "../steps.mjs";

const PASSWORD = "correct horse battery staple";

/** Another device logs in with PASSWORD and changes it to `next`, online. */
async function changePasswordElsewhere(browser, sigil, email, npub, next) {
  const other = await browser.newContext();
  const there = await other.newPage();
  await enterEmailAndCode(there, sigil, email);
  await submitUnlock(there, PASSWORD);
  await expect(there.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await changePassword(there, PASSWORD, next);
  await expect(there.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });
  await other.close();
}

/** A new device logs in: `refused` must fail, `accepted` must open `npub`. */
async function loginElsewhere(browser, sigil, email, refused, accepted, npub) {
  const device = await browser.newContext();
  const page = await device.newPage();
  await enterEmailAndCode(page, sigil, email);
  await submitUnlock(page, refused);
  await expect(page.locator("#unlock-error")).toContainText("does not unlock this vault");
  await submitUnlock(page, accepted);
  await expect(page.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  return device;
}

test("with no network the page opens, the vault unlocks, and a password change syncs later", async ({ page, browser }, testInfo) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "olive@example.org";
  const NEW_PASSWORD = "changed while offline";
  const npub = await signUp(page, sigil, email, PASSWORD);
  await shellCached(page);

  // No server, no network: the page still opens from the service worker's copy.
  await sigil.stopServer();
  await page.context().setOffline(true);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await expect(page.locator("#unlock-who")).toHaveText(
    `Welcome back, ${email}. Your vault is saved on this device. You are offline: your password opens it without the server.`,
  );
  await page.screenshot({ path: testInfo.outputPath("unlock-offline.png"), fullPage: true });
  await submitUnlock(page, "not the right password");
  await expect(page.locator("#unlock-error")).toHaveText("That password does not unlock this vault. Check it and try again.");
  await submitUnlock(page, PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(npub);
  await expect(page.locator("#sync-status")).toHaveText("You are offline: this is the copy saved on this device.");

  await changePassword(page, PASSWORD, NEW_PASSWORD);
  await expect(page.locator("#sync-status")).toContainText("Your new password is saved on this device and will be sent");
  await page.screenshot({ path: testInfo.outputPath("change-queued.png"), fullPage: true });

  // Still offline after a reload: this device's copy now needs the new password.
  await page.reload();
  await submitUnlock(page, PASSWORD);
  await expect(page.locator("#unlock-error")).toContainText("does not unlock this vault");
  await submitUnlock(page, NEW_PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(npub);

  // The network comes back: the queued change goes to the server by itself.
  await sigil.restartServer();
  await page.context().setOffline(false);
  await expect(page.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 45_000 });
  const device = await loginElsewhere(browser, sigil, email, PASSWORD, NEW_PASSWORD, npub);
  await device.close();
  await sigil.stop();
});

test("a password changed on two devices at once is settled without losing either", async ({ page, browser }, testInfo) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "twice@example.org";
  const HERE = "the password set here";
  const THERE = "the password set there";
  const npub = await signUp(page, sigil, email, PASSWORD);

  // This device is offline while it changes the password...
  await page.context().setOffline(true);
  await changePassword(page, PASSWORD, HERE);
  await expect(page.locator("#sync-status")).toContainText("saved on this device and will be sent");

  // ...and another device changes it too, online.
  await changePasswordElsewhere(browser, sigil, email, npub, THERE);

  // Back online, this device finds the other change and asks.
  await page.context().setOffline(false);
  await expect(page.getByRole("heading", { name: "Your password was changed on two devices" })).toBeVisible({ timeout: 45_000 });
  await page.screenshot({ path: testInfo.outputPath("conflict.png"), fullPage: true });
  await page.getByLabel("Or enter the password set on the other device").fill(HERE);
  await page.getByRole("button", { name: "Use the other device's password" }).click();
  await expect(page.locator("#conflict-error")).toContainText("does not unlock this vault");
  await page.getByRole("button", { name: "Keep the password set on this device" }).click();
  await expect(page.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });
  await expect(page.getByRole("heading", { name: "Your password was changed on two devices" })).toBeHidden();

  const device = await loginElsewhere(browser, sigil, email, THERE, HERE, npub);
  await device.close();
  await sigil.stop();
});

test("a password changed on another device is used here only once its password is typed", async ({ page, browser }) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "elsewhere@example.org";
  const THERE = "the password set on the laptop";
  const npub = await signUp(page, sigil, email, PASSWORD);

  // Another device changes the password; the server now holds a newer backup.
  await changePasswordElsewhere(browser, sigil, email, npub, THERE);

  // This device still opens with its own password, and is told rather than switched over.
  await page.reload();
  await submitUnlock(page, PASSWORD);
  await expect(page.getByRole("heading", { name: "Your password was changed on another device" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("npub")).toHaveText(npub);
  // The old password does not open the new backup; the other device's does.
  await page.getByLabel("Or enter the password set on the other device").fill(PASSWORD);
  await page.getByRole("button", { name: "Use the other device's password" }).click();
  await expect(page.locator("#conflict-error")).toContainText("does not unlock this vault");
  await page.getByLabel("Or enter the password set on the other device").fill(THERE);
  await page.getByRole("button", { name: "Use the other device's password" }).click();
  await expect(page.locator("#sync-status")).toHaveText(
    "The backup from the other device opened with that password. This device now uses it.",
    { timeout: 30_000 },
  );
  // From now on only the other device's password opens this device's copy.
  await page.reload();
  await submitUnlock(page, PASSWORD);
  await expect(page.locator("#unlock-error")).toContainText("does not unlock this vault");
  await submitUnlock(page, THERE);
  await expect(page.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await sigil.stop();
});
