// The relay transport in the browser: the server announces `"transport": "relays"`, and the
// vault worker sends every request as a Nostr event on the server's relay (a real
// nostr-rs-relay on loopback) instead of POSTing it. The relay restarts in the middle of a login.
import { expect, test } from "@playwright/test";
import { startRelay, startSigil } from "../harness.mjs";
import { FAST_KDF, signUp, submitUnlock } from "../steps.mjs";

const PASSWORD = "correct horse battery staple";

let relay;
let sigil;
test.beforeAll(async () => {
  relay = await startRelay();
  sigil = await startSigil({
    serverArgs: [...FAST_KDF, "--dvm-relays", relay.url, "--client-transport", "relays", "--default-relays", relay.url],
  });
  // The server subscribes on the relay shortly after it starts listening.
  await expect.poll(() => sigil.logs.join("").includes("listening for requests on relay"), { timeout: 20_000 }).toBe(true);
});
test.afterAll(async () => {
  await sigil?.stop();
  await relay?.stop();
});

test("sign up and log in over the relay, with the relay restarted mid-login", async ({ page, browser }, testInfo) => {
  expect(sigil.info.transport).toBe("relays");
  expect(sigil.info.dvm_relays).toEqual([relay.url]);
  const posted = [];
  const watch = (request) => request.url().endsWith("/api/v1/events") && posted.push(request.url());

  page.context().on("request", watch);
  const email = "relay@example.org";
  const created = await signUp(page, sigil, email, PASSWORD);
  // After activation the account's relay list (NIP-65) goes to its relays; the real relay took it.
  await expect(page.locator("#relays-status")).toHaveText("Your relay list is published on 1 of 1 relays.");
  await page.screenshot({ path: testInfo.outputPath("vault-over-relay.png") });

  const device = await browser.newContext();
  device.on("request", watch);
  const second = await device.newPage();
  await second.goto(sigil.baseURL);
  await second.getByLabel("Email address").fill(email);
  await second.getByRole("button", { name: "Continue" }).click();
  await expect(second.getByRole("heading", { name: "Check your email" })).toBeVisible();
  // Every connection drops; the server reconnects, and the page's request is sent again.
  await relay.restart();
  await second.getByLabel("Code from the email").fill(await sigil.codeFor(email));
  await second.getByRole("button", { name: "Verify" }).click();
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible({ timeout: 40_000 });
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(created);
  await device.close();

  expect(posted).toEqual([]);
});
