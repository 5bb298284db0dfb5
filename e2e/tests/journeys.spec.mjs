import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, enterEmailAndCode, saveKit, submitUnlock } from "../steps.mjs";

const PASSWORD = "correct horse battery staple";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: FAST_KDF });
});
test.afterAll(async () => {
  await sigil?.stop();
});

test("sign up, then log in on a new device with the same key", async ({ page, browser }, testInfo) => {
  const email = "alice@example.org";
  await enterEmailAndCode(page, sigil, email);

  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await expect(page.getByText("it cannot be reset")).toBeVisible();
  // The strength meter: a common password is named as one and refused; a passphrase passes.
  const field = page.getByLabel("Password (at least 10 characters)", { exact: true });
  await field.fill("password123");
  await expect(page.locator("#new-password-strength")).toHaveText("Strength: Very weak. This is one of the most common passwords.");
  await expect(page.locator("#new-password-meter")).toHaveAttribute("value", "0");
  await page.getByLabel("Repeat the password").fill("password123");
  await page.getByRole("button", { name: "Create my key" }).click();
  await expect(page.locator("#password-error")).toHaveText("This password is too easy to guess. This is one of the most common passwords.");
  await field.fill("aliceexample");
  await expect(page.locator("#new-password-strength")).toContainText("Avoid your email address");
  await field.fill(PASSWORD);
  await expect(page.locator("#new-password-strength")).toHaveText("Strength: Strong.");
  await expect(page.locator("#new-password-meter")).toHaveAttribute("value", "4");
  await page.screenshot({ path: testInfo.outputPath("choose-password.png") });
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill("not the same password");
  await page.getByRole("button", { name: "Create my key" }).click();
  await expect(page.locator("#password-error")).toHaveText("The two passwords do not match.");

  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create my key" }).click();
  await saveKit(page);
  const npub = page.getByTestId("npub");
  await expect(npub).toHaveText(/^npub1[02-9ac-hj-np-z]{58}$/, { timeout: 30_000 });
  const created = await npub.textContent();
  await page.screenshot({ path: testInfo.outputPath("vault.png") });

  // A new device: a fresh browser context with no storage.
  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  // A wrong password is found out locally: nothing goes to the server.
  const sent = [];
  const watch = (request) => request.url().endsWith("/api/v1/events") && sent.push(request.url());
  device.on("request", watch);
  await submitUnlock(second, "a wrong password");
  await expect(second.locator("#unlock-error")).toContainText("does not unlock this vault");
  device.off("request", watch);
  expect(sent).toEqual([]);
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(created, { timeout: 30_000 });

  // Locking wipes the secrets and reloads: this device now asks only for the password.
  await second.getByRole("button", { name: "Lock" }).click();
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await expect(second.locator("#unlock-who")).toHaveText(`Welcome back, ${email}. Your vault is saved on this device.`);
  await expect(second.getByTestId("npub")).toBeHidden();
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(created, { timeout: 30_000 });
  await device.close();
});

test("a wrong code says so and can be corrected", async ({ page }) => {
  const email = "bob@example.org";
  await page.goto(sigil.baseURL);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  const code = await sigil.codeFor(email);
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  await page.getByLabel("Code from the email").fill(wrong);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.locator("#code-error")).toHaveText("That code is not correct.");
  await page.getByLabel("Code from the email").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
});

test("an expired code says so, and a new code works", async ({ page }) => {
  const email = "late@example.org";
  await page.goto(sigil.baseURL);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  const code = await sigil.codeFor(email);
  sigil.expireCodes();
  await page.getByLabel("Code from the email").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.locator("#code-error")).toHaveText("That code no longer works. Request a new one.");
  await page.getByRole("button", { name: "Send a new code" }).click();
  await page.getByLabel("Code from the email").fill(await sigil.codeFor(email));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
});
