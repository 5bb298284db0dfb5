// The server's logs at their most verbose (every crate at trace level) after signup, login,
// password change, a wrong code and account deletion: no address, code, password, key, backup
// or client address appears in them.
import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, changePassword, enterEmailAndCode, signUp, submitUnlock, openSection } from "../steps.mjs";

const PASSWORD = "log-audit-password-7e1f";
const NEW_PASSWORD = "log-audit-new-password-3b9c";

test("trace-level server logs of whole journeys hold no personal or secret data", async ({ page, browser }) => {
  const sigil = await startSigil({ serverArgs: [...FAST_KDF, "--log", "trace"] });
  const email = "log.audit.person@example.org";
  const codes = [];
  const codeFor = sigil.codeFor.bind(sigil);
  sigil.codeFor = async (address) => {
    const code = await codeFor(address);
    codes.push(code);
    return code;
  };

  await signUp(page, sigil, email, PASSWORD);
  const device = await browser.newContext();
  const second = await device.newPage();
  await second.goto(sigil.baseURL);
  await second.getByLabel("Email address").fill(email);
  await second.getByRole("button", { name: "Continue" }).click();
  const sent = await sigil.codeFor(email);
  await second.getByLabel("Code from the email").fill(sent === "000000" ? "111111" : "000000");
  await second.getByRole("button", { name: "Verify" }).click();
  await expect(second.locator("#code-error")).not.toBeEmpty();
  await device.close();

  const third = await (await browser.newContext()).newPage();
  await enterEmailAndCode(third, sigil, email);
  await submitUnlock(third, PASSWORD);
  await expect(third.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  await changePassword(third, PASSWORD, NEW_PASSWORD);
  await expect(third.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });
  const saved = await third.evaluate(
    () =>
      new Promise((resolve) => {
        const open = indexedDB.open("sigil");
        open.onsuccess = () => {
          const get = open.result.transaction("vault").objectStore("vault").get("local");
          get.onsuccess = () => resolve(JSON.parse(get.result));
        };
      }),
  );
  third.once("dialog", (dialog) => dialog.accept());
  await openSection(third, "Security");
  await third.getByText("Delete your account").click();
  await third.locator("#delete-password").fill(NEW_PASSWORD);
  await third.getByRole("button", { name: "Delete account…" }).click();
  await expect(third.locator("#status")).toHaveText("Your account was deleted.");
  await sigil.stopServer();

  const logs = sigil.logs.join("");
  expect(logs.length, "trace logging produced output").toBeGreaterThan(10_000);
  expect(codes.length).toBeGreaterThanOrEqual(3);
  const forbidden = [
    email,
    "log.audit.person",
    PASSWORD,
    NEW_PASSWORD,
    ...codes,
    saved.backup.envelope.ciphertext,
    saved.backup.envelope.nonce,
    saved.backup.entropy,
  ];
  for (const secret of forbidden) expect(logs, `logs contain ${secret}`).not.toContain(secret);
  // The only address in the logs is the server's own listening socket, never a client's.
  const addresses = logs.match(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?/g) ?? [];
  const own = new URL(sigil.baseURL).host;
  const foreign = addresses.filter((a) => a !== own && a !== "127.0.0.1");
  if (foreign.length) console.log(logs.split("\n").filter((l) => foreign.some((a) => l.includes(a))).slice(0, 8).join("\n"));
  expect(foreign, "client addresses in logs").toEqual([]);
  await sigil.stop();
});
