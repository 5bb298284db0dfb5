import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { argon2id } from "hash-wasm";
import { nip19 } from "nostr-tools";
import { FAST_KDF, changePassword, enterEmailAndCode, openSection, savedRecords, signUp, submitUnlock } from "../steps.mjs";

const PASSWORD = "unique-password-4c2f8e";
const NEW_PASSWORD = "another-unique-password-9d1b";

/** The key Argon2id derives from `password` for this backup (the same derivation as the client's). */
async function derivedKey(password, vault) {
  const salt = createHash("sha256")
    .update(Buffer.from("sigil/kdf-salt/v1"))
    .update(Buffer.from(vault.backup.entropy, "hex"))
    .digest();
  const { m_kib, t, p } = vault.backup.envelope.kdf;
  return argon2id({ password: password.normalize("NFKC"), salt, parallelism: p, iterations: t, memorySize: m_kib, hashLength: 32, outputType: "binary" });
}

/** Every way a 32-byte secret could appear in text: hex, base64 (both alphabets). */
function encodings(bytes) {
  const buffer = Buffer.from(bytes);
  return [buffer.toString("hex"), buffer.toString("base64").replace(/=+$/, ""), buffer.toString("base64url")];
}

test("no request or response of signup, login and password change carries a secret or the address", async ({ page, browser }) => {
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
  await signUp(page, sigil, email, PASSWORD);

  const device = await browser.newContext();
  record(device);
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  await changePassword(second, PASSWORD, NEW_PASSWORD);
  await expect(second.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });

  // The secrets to look for: the key itself (shown once on request, after recording) and the
  // keys Argon2id derives from both passwords.
  const vaultBefore = (await savedRecords(page)).local;
  const vaultAfter = (await savedRecords(second)).local;
  second.once("dialog", (dialog) => dialog.accept());
  await openSection(second, "Security");
  await second.locator("summary", { hasText: "Export or show your key" }).click();
  await second.locator("#export-password").fill(NEW_PASSWORD);
  await second.getByRole("button", { name: "Show nsec…" }).click();
  await expect(second.getByTestId("key-output")).toHaveText(/^nsec1/);
  const nsec = await second.getByTestId("key-output").textContent();
  const secretKey = nip19.decode(nsec).data;
  // The derivation above is the client's: it reproduces the known-answer vector.
  const [vector] = JSON.parse(readFileSync(new URL("../../shared/tests/vectors/backup-v1.json", import.meta.url)));
  const vectorKey = await derivedKey(vector.password, { backup: { entropy: vector.entropy, envelope: vector.envelope } });
  expect(Buffer.from(vectorKey).toString("hex")).toBe(vector.derived_key);
  const secrets = [
    PASSWORD,
    NEW_PASSWORD,
    nsec,
    ...encodings(secretKey),
    ...encodings(await derivedKey(PASSWORD, vaultBefore)),
    ...encodings(await derivedKey(NEW_PASSWORD, vaultAfter)),
  ];

  const events = exchanges.filter((e) => e.url.endsWith("/api/v1/events"));
  // Signup: request_code, verify_code, activate. Login: request_code, verify_code, then a sync
  // (get_backup). Password change: update_backup.
  expect(events.length, "every call of the three journeys was recorded").toBe(7);
  for (const exchange of exchanges) {
    const everything = Object.values(exchange).join("\n");
    for (const secret of secrets) expect(everything, exchange.url).not.toContain(secret);
    expect(everything.toLowerCase(), exchange.url).not.toContain(email);
    expect(everything.toLowerCase(), exchange.url).not.toContain("audit.person");
    expect(exchange.responseHeaders.toLowerCase(), exchange.url).not.toContain("set-cookie");
    expect(exchange.url.startsWith(sigil.baseURL), exchange.url).toBe(true);
  }
  expect(await page.context().cookies()).toEqual([]);
  expect(await device.cookies()).toEqual([]);
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
