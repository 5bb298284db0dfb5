import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil();
});
test.afterAll(async () => {
  await sigil?.stop();
});

test("the page loads the WebAssembly client and shows the server's npub", async ({ page }, testInfo) => {
  const foreign = [];
  const errors = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(sigil.baseURL)) foreign.push(request.url());
  });
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(sigil.baseURL);
  await expect(page.getByTestId("server-npub")).toHaveText(sigil.info.npub);
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });

  expect(foreign, "no request leaves the server's origin").toEqual([]);
  expect(errors, "no console errors (CSP violations show up here)").toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("the page says why it needs JavaScript", async ({ page }, testInfo) => {
    await page.goto(sigil.baseURL);
    await expect(page.locator("#needs-script")).toBeVisible();
    await expect(page.locator("#needs-script")).toContainText("please enable JavaScript and WebAssembly");
    await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeHidden();
    await page.screenshot({ path: testInfo.outputPath("no-javascript.png"), fullPage: true });
  });
});

test("without WebAssembly the page says so instead of failing silently", async ({ page }) => {
  await page.addInitScript(() => {
    delete globalThis.WebAssembly;
  });
  await page.goto(sigil.baseURL);
  await expect(page.locator("#status")).toHaveText(
    "This browser cannot run WebAssembly, which Sigil needs to keep your key on your device.",
  );
  await expect(page.locator("#needs-script")).toBeHidden();
});

test("another Sigil server can be opened from the footer", async ({ page }) => {
  const other = await startSigil();
  await page.goto(sigil.baseURL);
  await expect(page.getByTestId("server-npub")).toHaveText(sigil.info.npub);
  await page.locator("summary", { hasText: "Use another Sigil server" }).click();
  const address = page.getByLabel("Address of the other server");
  await address.fill("ftp://example.org");
  await page.getByRole("button", { name: "Open it" }).click();
  await expect(page.locator("#server-error")).toHaveText("Only http:// and https:// addresses can be opened.");
  await address.fill(sigil.baseURL);
  await page.getByRole("button", { name: "Open it" }).click();
  await expect(page.locator("#server-error")).toHaveText("That is the server you are using now.");
  await address.fill(`${other.baseURL}/some/path`);
  await page.getByRole("button", { name: "Open it" }).click();
  await expect(page).toHaveURL(`${other.baseURL}/`);
  await expect(page.getByTestId("server-npub")).toHaveText(other.info.npub);
  await other.stop();
});
