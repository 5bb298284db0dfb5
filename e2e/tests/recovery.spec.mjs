// The recovery kit in Chromium: signup shows the emergency kit and goes on only once it is
// confirmed saved; "Forgot your password?" on a new device opens the vault with the kit's code,
// sets a new password and gives a new kit; afterwards neither the old password nor the old code
// opens the backup, on any device.
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, RECOVERY_CODE, enterEmailAndCode, saveKit, submitUnlock } from "../steps.mjs";

const PASSWORD = "kit-journey-password-5b8d";
const NEW_PASSWORD = "after-recovery-password-2c6f";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: FAST_KDF });
});
test.afterAll(async () => {
  await sigil?.stop();
});

/** Fills the "Forgot your password?" form and submits it. */
async function recover(page, code, password) {
  const form = page.locator("#forgot");
  if (!(await form.evaluate((details) => details.open))) await page.locator("#forgot summary").click();
  await page.locator("#recover-form").getByLabel("Recovery code").fill(code);
  await page.locator("#recover-form").getByLabel("New password (at least 10 characters)").fill(password);
  await page.locator("#recover-form").getByLabel("Repeat the new password").fill(password);
  await page.getByRole("button", { name: "Recover my vault" }).click();
}

test("signup gives an emergency kit; a forgotten password is recovered with it on a new device", async ({ page, browser }) => {
  const email = "kit.holder@example.org";
  await enterEmailAndCode(page, sigil, email);
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create my key" }).click();

  // The kit: the server, the address and the code; the vault waits for the confirmation.
  await expect(page.getByRole("heading", { name: "Save your emergency kit" })).toBeVisible({ timeout: 30_000 });
  const code = await page.getByTestId("kit-code").textContent();
  expect(code).toMatch(RECOVERY_CODE);
  await expect(page.locator("#kit-email")).toHaveText(email);
  await expect(page.locator("#kit-server")).toHaveText(new URL(sigil.baseURL).origin);
  await page.getByRole("button", { name: "Continue to my vault" }).click();
  await expect(page.getByRole("heading", { name: "Save your emergency kit" })).toBeVisible();
  await expect(page.getByTestId("npub")).toBeHidden();
  // Saved as a file, the kit is what the screen shows.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save as a file" }).click()]);
  expect(download.suggestedFilename()).toBe("sigil-emergency-kit.txt");
  const file = readFileSync(await download.path(), "utf8");
  expect(file).toContain(code);
  expect(file).toContain(email);
  const npub = await (async () => {
    await saveKit(page);
    await expect(page.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
    return page.getByTestId("npub").textContent();
  })();
  // Confirmed: the page no longer holds the code, and the vault does not ask for a kit.
  await expect(page.getByTestId("kit-code")).toHaveText("");
  await expect(page.locator("#kit-missing")).toBeHidden();

  // A new device, the password forgotten: email, code, then the recovery code.
  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  // A typo is caught by the code's checksum, before anything is derived or sent.
  const sent = [];
  const watch = (request) => request.url().endsWith("/api/v1/events") && sent.push(request.url());
  device.on("request", watch);
  const typo = (code[0] === "q" ? "p" : "q") + code.slice(1);
  await recover(second, typo, NEW_PASSWORD);
  await expect(second.locator("#recover-error")).toHaveText("This recovery code has a typo: check each group against the kit.");
  device.off("request", watch);
  expect(sent).toEqual([]);
  // Typed as people do: in capitals, with spaces.
  await recover(second, code.toUpperCase().replaceAll("-", " "), NEW_PASSWORD);
  const newCode = await saveKit(second);
  expect(newCode).not.toBe(code);
  await expect(second.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await expect(second.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });

  // Elsewhere, neither the old password nor the old code opens the server's backup any more.
  const later = await browser.newContext();
  const third = await later.newPage();
  await enterEmailAndCode(third, sigil, email);
  await submitUnlock(third, PASSWORD);
  await expect(third.locator("#unlock-error")).toContainText("does not unlock this vault");
  await recover(third, code, "yet-another-password-8f1e");
  await expect(third.locator("#recover-error")).toHaveText("Wrong recovery code, or the backup was altered.");
  await submitUnlock(third, NEW_PASSWORD);
  await expect(third.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await later.close();
  await device.close();
});
