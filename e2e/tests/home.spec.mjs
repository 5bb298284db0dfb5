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
