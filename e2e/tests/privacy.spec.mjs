import { expect, test } from "@playwright/test";
import { startSigil } from "../harness.mjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { argon2id } from "hash-wasm";
import { nip19 } from "nostr-tools";
import { FAST_KDF, changePassword, encodings, enterEmailAndCode, openSection, recordExchanges, saveKit, savedRecords, signUpWithKit, submitUnlock } from "../steps.mjs";

const PASSWORD = "unique-password-4c2f8e";
const NEW_PASSWORD = "another-unique-password-9d1b";
const RECOVERED_PASSWORD = "recovered-unique-password-7e3a";

/** The key Argon2id derives from `password` for this backup (the same derivation as the client's). */
async function derivedKey(password, vault) {
  const { envelope, entropy } = vault.backup;
  const salt = createHash("sha256").update(Buffer.from(`sigil/kdf-salt/v${envelope.v}`)).update(Buffer.from(entropy, "hex"));
  if (envelope.v > 1) salt.update(Buffer.from(envelope.pubkey, "hex"));
  const { m_kib, t, p } = envelope.v === 3 ? envelope.slots[0].kdf : envelope.kdf;
  return argon2id({ password: password.normalize("NFKC"), salt: salt.digest(), parallelism: p, iterations: t, memorySize: m_kib, hashLength: 32, outputType: "binary" });
}

/** The data key of a version-3 backup, unwrapped from its password slot with the derived key. */
function dataKey(key, envelope) {
  const slot = envelope.slots[0];
  const header = Buffer.alloc(12);
  [slot.kdf.m_kib, slot.kdf.t, slot.kdf.p].forEach((n, i) => header.writeUInt32LE(n, 4 * i));
  const aad = Buffer.concat([Buffer.from("sigil/slot/v3"), Buffer.from(envelope.pubkey, "hex"), Buffer.from(envelope.id, "hex"), Buffer.from([1]), header]);
  return xchacha20poly1305(key, Buffer.from(slot.nonce, "hex"), aad).decrypt(Buffer.from(slot.wrapped, "hex"));
}

/** Every way a recovery code could appear in text: as shown, without dashes, in capitals. */
function spellings(code) {
  const bare = code.replaceAll("-", "");
  return [code, bare, code.toUpperCase(), bare.toUpperCase()];
}


test("no request or response of signup, login, password change and recovery carries a secret or the address", async ({ page, browser }) => {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  const email = "audit.person@example.org";
  const exchanges = [];
  const record = (target) => recordExchanges(target, exchanges);
  record(page.context());
  const { code: firstCode } = await signUpWithKit(page, sigil, email, PASSWORD);

  const device = await browser.newContext();
  record(device);
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, PASSWORD);
  await expect(second.getByTestId("npub")).toHaveText(/^npub1/, { timeout: 30_000 });
  await changePassword(second, PASSWORD, NEW_PASSWORD);
  await expect(second.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });

  // "Forgot password" on a third device, with the kit's code: a new password and a new code.
  const third = await browser.newContext();
  record(third);
  const recovering = await third.newPage();
  await enterEmailAndCode(recovering, sigil, email);
  await recovering.locator("#forgot summary").click();
  await recovering.locator("#recover-form").getByLabel("Recovery code").fill(firstCode);
  await recovering.locator("#recover-form").getByLabel("New password (at least 10 characters)").fill(RECOVERED_PASSWORD);
  await recovering.locator("#recover-form").getByLabel("Repeat the new password").fill(RECOVERED_PASSWORD);
  await recovering.getByRole("button", { name: "Recover my vault" }).click();
  const secondCode = await saveKit(recovering);
  await expect(recovering.locator("#sync-status")).toHaveText("Your new password is saved on the server.", { timeout: 30_000 });
  const vaultRecovered = (await savedRecords(recovering)).local;

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
  // The derivations above are the client's: they reproduce the known answers.
  for (const version of [1, 3]) {
    const [vector] = JSON.parse(readFileSync(new URL(`../../shared/tests/vectors/backup-v${version}.json`, import.meta.url)));
    const vectorKey = await derivedKey(vector.password, { backup: { entropy: vector.entropy, envelope: vector.envelope } });
    expect(Buffer.from(vectorKey).toString("hex")).toBe(vector.derived_key);
    if (version === 3) expect(Buffer.from(dataKey(vectorKey, vector.envelope)).toString("hex")).toBe(vector.data_key);
  }
  const keyBefore = await derivedKey(PASSWORD, vaultBefore);
  const keyRecovered = await derivedKey(RECOVERED_PASSWORD, vaultRecovered);
  expect(firstCode).not.toBe(secondCode);
  const secrets = [
    PASSWORD,
    NEW_PASSWORD,
    RECOVERED_PASSWORD,
    nsec,
    ...spellings(firstCode),
    ...spellings(secondCode),
    ...encodings(secretKey),
    ...encodings(keyBefore),
    ...encodings(await derivedKey(NEW_PASSWORD, vaultAfter)),
    ...encodings(keyRecovered),
    // The data key every slot wraps: the same since signup.
    ...encodings(dataKey(keyBefore, vaultBefore.backup.envelope)),
    ...encodings(dataKey(keyRecovered, vaultRecovered.backup.envelope)),
  ];

  const events = exchanges.filter((e) => e.url.endsWith("/api/v1/events"));
  // Signup: request_code, verify_code, activate. Login: request_code, verify_code, then a sync
  // (get_backup). Password change: update_backup. Recovery: request_code, verify_code, then the
  // new backup (update_backup).
  expect(events.length, "every call of the four journeys was recorded").toBe(10);
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
  expect(await third.cookies()).toEqual([]);
  await device.close();
  await third.close();
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
