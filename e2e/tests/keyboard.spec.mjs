import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";

// Only lower-case letters, digits and spaces: one keyboard layer.
const PASSWORD = "shuffled keys 42 only";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: ["--kdf-memory-kib", "19456", "--kdf-iterations", "2", "--kdf-parallelism", "1"] });
});
test.afterAll(async () => {
  await sigil?.stop();
});

async function enterEmailAndCode(page, email) {
  await page.goto(sigil.baseURL);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("6-digit code").fill(await sigil.codeFor(email));
  await page.getByRole("button", { name: "Verify" }).click();
}

test("the on-screen keyboard unlocks the same key as typing, without key events", async ({ page, browser }, testInfo) => {
  const email = "keys@example.org";
  await enterEmailAndCode(page, email);
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create my key" }).click();
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  const typed = await page.getByTestId("npub").textContent();

  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, email);
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
