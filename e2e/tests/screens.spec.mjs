// Every screen at phone width: a screenshot of each as a test artifact, no sideways scrolling,
// and the journey done with the keyboard alone.
import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, openSection, RECOVERY_CODE } from "../steps.mjs";

test.use({ viewport: { width: 360, height: 740 } });

const PASSWORD = "correct horse battery staple";

async function capture(page, testInfo, name) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} fits the width of a phone`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test("every screen fits a phone and works from the keyboard", async ({ page }, testInfo) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "phone@example.org";
  await page.goto(sigil.baseURL);
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
  // Each screen puts the focus in its first field.
  await expect(page.getByLabel("Email address")).toBeFocused();
  await capture(page, testInfo, "1-email");
  await page.keyboard.type(email);
  await page.keyboard.press("Enter");

  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
  await expect(page.getByLabel("Code from the email")).toBeFocused();
  await capture(page, testInfo, "2-code");
  await page.keyboard.type(await sigil.codeFor(email));
  await page.keyboard.press("Enter");

  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await expect(page.getByLabel("Password (at least 10 characters)", { exact: true })).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Repeat the password")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await capture(page, testInfo, "3-choose-password");
  await page.keyboard.press("Enter");

  await expect(page.getByRole("heading", { name: "Save your emergency kit" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("kit-code")).toHaveText(RECOVERY_CODE);
  await expect(page.getByRole("button", { name: "Save as a file" })).toBeFocused();
  await capture(page, testInfo, "4-emergency-kit");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("I have saved or printed my emergency kit")).toBeFocused();
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");

  await expect(page.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  await capture(page, testInfo, "5-vault");
  await openSection(page, "Security");
  for (const section of ["Change password", "Export or show your key"]) {
    await page.locator("summary", { hasText: section }).click();
  }
  await capture(page, testInfo, "6-vault-actions");

  await page.getByRole("button", { name: "Lock" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await page.getByRole("button", { name: "On-screen keyboard" }).click();
  await capture(page, testInfo, "7-unlock-with-on-screen-keyboard");
  await page.getByLabel("Password", { exact: true }).focus();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  await sigil.stop();
});
