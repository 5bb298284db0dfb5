import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, enterEmailAndCode, submitUnlock } from "../steps.mjs";

const PASSWORD = "unique-password-4c2f8e";

test("no request or response carries the password or the email address in clear", async ({ page, browser }) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "audit.person@example.org";
  const exchanges = [];
  const record = (target) => {
    target.on("requestfinished", async (request) => {
      const response = await request.response();
      exchanges.push({
        url: request.url(),
        requestHeaders: JSON.stringify(await request.allHeaders()),
        requestBody: request.postData() ?? "",
        responseHeaders: JSON.stringify((await response?.allHeaders()) ?? {}),
        responseBody: (await response?.text().catch(() => "")) ?? "",
      });
    });
  };
  record(page.context());

  await enterEmailAndCode(page, sigil, email);
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create my key" }).click();
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });

  const device = await browser.newContext();
  record(device);
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });

  // Requests from the worker finish asynchronously; give the recorder a moment.
  await page.waitForTimeout(200);
  const events = exchanges.filter((e) => e.url.endsWith("/api/v1/events"));
  // Signup: request_code, verify_code, activate. Login: request_code, verify_code.
  expect(events.length, "every call of both journeys was recorded").toBe(5);
  for (const exchange of exchanges) {
    const everything = Object.values(exchange).join("\n");
    expect(everything, exchange.url).not.toContain(PASSWORD);
    expect(everything.toLowerCase(), exchange.url).not.toContain(email);
    expect(everything.toLowerCase(), exchange.url).not.toContain("audit.person");
    expect(exchange.responseHeaders.toLowerCase(), exchange.url).not.toContain("set-cookie");
    expect(exchange.url.startsWith(sigil.baseURL), exchange.url).toBe(true);
  }
  expect(await page.context().cookies()).toEqual([]);
  await device.close();
  await sigil.stop();
});

test("an unreachable server gets a clear message and the form stays usable", async ({ page }) => {
  const sigil = await startSigil();
  await page.goto(sigil.baseURL);
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
  await sigil.stopServer();
  await page.getByLabel("Email address").fill("offline@example.org");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("#email-error")).toHaveText("The server could not be reached. Check your connection and try again.");
  await expect(page.getByRole("button", { name: "Continue" })).toBeEnabled();
  await sigil.stop();
});
