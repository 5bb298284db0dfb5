import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, enterEmailAndCode, signUp } from "../steps.mjs";

// Only lower-case letters, digits and spaces: one keyboard layer.
const PASSWORD = "shuffled keys 42 only";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: FAST_KDF });
});
test.afterAll(async () => {
  await sigil?.stop();
});

test("the on-screen keyboard unlocks the same key as typing, without key events", async ({ page, browser }, testInfo) => {
  const email = "keys@example.org";
  const typed = await signUp(page, sigil, email, PASSWORD);

  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await second.evaluate(() => {
    window.keyEvents = 0;
    for (const type of ["keydown", "keypress", "keyup"]) document.addEventListener(type, () => window.keyEvents++, true);
  });

  const keyboard = second.getByRole("group", { name: "On-screen keyboard, shuffled" });
  const toggle = second.getByRole("button", { name: "On-screen keyboard" });
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  const order = async () => (await keyboard.locator(".osk-key").allTextContents()).join("");
  const firstOrder = await order();
  await toggle.click();
  await toggle.click();
  expect(await order(), "a new order each time it opens").not.toBe(firstOrder);
  await second.screenshot({ path: testInfo.outputPath("keyboard.png"), fullPage: true });

  for (const character of PASSWORD) {
    const name = character === " " ? "Space" : character;
    await keyboard.getByRole("button", { name, exact: true }).click();
  }
  await expect(second.getByLabel("Password", { exact: true })).toHaveValue(PASSWORD);
  await second.getByRole("button", { name: "Unlock" }).click();
  await expect(second.getByTestId("npub")).toHaveText(typed, { timeout: 30_000 });
  expect(await second.evaluate(() => window.keyEvents)).toBe(0);
  await device.close();
});
