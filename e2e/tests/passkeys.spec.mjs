// Passkey unlock in Chromium, against its virtual authenticator (DevTools protocol, with the PRF
// extension): the authenticator is Chromium's, the WebAuthn calls are the browser's own.
import { expect, test } from "@playwright/test";
import { createHash } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, encodings, enterEmailAndCode, openSection, recordExchanges, savedRecords, signUp, submitUnlock } from "../steps.mjs";

const PASSWORD = "unique-password-passkey-5b1e";

/** A platform authenticator with user verification (and PRF unless `prf` is false), in this tab. */
async function virtualAuthenticator(page, { prf = true } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const options = {
    protocol: "ctap2",
    ctap2Version: "ctap2_1",
    transport: "internal",
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    hasPrf: prf,
    automaticPresenceSimulation: true,
  };
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options });
  return {
    cdp,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
  };
}

/** WebAuthn's relying party is a domain name, never an IP address: the page is opened as localhost. */
async function startSite() {
  const sigil = await startSigil({ serverArgs: FAST_KDF });
  return { ...sigil, baseURL: sigil.baseURL.replace("127.0.0.1", "localhost") };
}

async function openPasskeys(page) {
  await openSection(page, "Security");
  const details = page.locator("details", { has: page.getByTestId("passkey-list") });
  if ((await details.getAttribute("open")) === null) await details.locator("summary").click();
  return page.locator("#passkey-form");
}

async function addPasskey(page, name, password) {
  const form = await openPasskeys(page);
  await form.getByLabel("Name for the new passkey").fill(name);
  await form.getByLabel("Confirm with your password").fill(password);
  await form.getByRole("button", { name: "Add a passkey" }).click();
}

/** What a device that never held the vault has: nothing of this site stored. */
async function wipeSiteData(authenticator, site) {
  await authenticator.cdp.send("Storage.clearDataForOrigin", { origin: site.baseURL, storageTypes: "all" });
}

/** The PRF output the authenticator gives for this passkey slot, asked the way any client would. */
function prfOutput(page, slot) {
  return page.evaluate(async ({ credential, salt }) => {
    const bytes = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
    const assertion = await navigator.credentials.get({
      publicKey: {
        challenge: new Uint8Array(32),
        allowCredentials: [{ type: "public-key", id: bytes(credential) }],
        userVerification: "required",
        extensions: { prf: { eval: { first: bytes(salt) } } },
      },
    });
    return Array.from(new Uint8Array(assertion.getClientExtensionResults().prf.results.first));
  }, { credential: slot.credential, salt: slot.prf_salt });
}

/** The data key, unwrapped from a passkey slot as docs/protocol.md specifies, from the PRF output alone. */
function unwrapPasskeySlot(envelope, slot, prf) {
  const pubkey = Buffer.from(envelope.pubkey, "hex");
  const slotKey = createHash("sha256").update("sigil/passkey-key/v3").update(pubkey).update(Buffer.from(prf)).digest();
  const created = Buffer.alloc(8);
  created.writeBigUInt64LE(BigInt(slot.created));
  const credential = Buffer.from(slot.credential, "hex");
  const name = Buffer.from(slot.name, "utf8");
  const header = Buffer.concat([Buffer.from(slot.prf_salt, "hex"), created, Buffer.from([credential.length]), credential, Buffer.from([name.length]), name]);
  const aad = Buffer.concat([Buffer.from("sigil/slot/v3"), pubkey, Buffer.from(envelope.id, "hex"), Buffer.from([3]), header]);
  return { slotKey, dataKey: xchacha20poly1305(slotKey, Buffer.from(slot.nonce, "hex"), aad).decrypt(Buffer.from(slot.wrapped, "hex")) };
}

test("a passkey is added with the password, unlocks, opens the vault on a new device, and once removed opens nothing", async ({ page }) => {
  const site = await startSite();
  const exchanges = [];
  recordExchanges(page.context(), exchanges);
  const authenticator = await virtualAuthenticator(page);
  const email = "passkey.person@example.org";
  const npub = await signUp(page, site, email, PASSWORD);

  // A new way in needs the password: a wrong one adds nothing and asks the authenticator nothing.
  await addPasskey(page, "Test laptop", "not the password at all");
  await expect(page.locator("#passkey-error")).toHaveText("That password does not unlock this vault. Check it and try again.");
  expect(await authenticator.credentials()).toHaveLength(0);
  await addPasskey(page, "Test laptop", PASSWORD);
  await expect(page.getByTestId("passkey-list")).toContainText(/Test laptop, added \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  await expect(page.locator("#sync-status")).toHaveText("Your new passkey is saved on the server.", { timeout: 30_000 });
  const [credential] = await authenticator.credentials();
  expect(credential.rpId).toBe("localhost");
  // The same authenticator cannot be added twice.
  await addPasskey(page, "Again", PASSWORD);
  await expect(page.locator("#passkey-error")).toHaveText("This authenticator already holds a passkey for this vault.");
  expect(await authenticator.credentials()).toHaveLength(1);

  // Locked, the passkey alone opens it.
  await page.getByRole("button", { name: "Lock" }).click();
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await page.getByRole("button", { name: "Unlock with a passkey" }).click();
  await expect(page.getByTestId("npub")).toHaveText(npub);

  // A new device, after the email code. Chromium's virtual authenticator lives in this tab and
  // keeps each credential's PRF secret to itself (WebAuthn.addCredential copies a passkey without
  // it: no PRF output), so the new device is this tab with everything of the site wiped.
  await wipeSiteData(authenticator, site);
  await enterEmailAndCode(page, site, email);
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await page.getByRole("button", { name: "Unlock with a passkey" }).click();
  await expect(page.getByTestId("npub")).toHaveText(npub);

  // The slot opens, by the specification, with the authenticator's PRF output: neither that
  // output nor the key derived from it nor the data key goes over the wire.
  const { local } = await savedRecords(page);
  const envelope = local.backup.envelope;
  const slot = envelope.slots.find((s) => s.kind === "passkey");
  expect(slot.name).toBe("Test laptop");
  expect(Buffer.from(slot.credential, "hex").toString("base64url")).toBe(credential.credentialId.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_"));
  const prf = await prfOutput(page, slot);
  const { slotKey, dataKey } = unwrapPasskeySlot(envelope, slot, prf);
  const secrets = [PASSWORD, ...encodings(prf), ...encodings(slotKey), ...encodings(dataKey)];

  // Removed on this device: it opens the backup nowhere.
  await openPasskeys(page);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Remove Test laptop" }).click();
  await expect(page.locator("#sync-status")).toHaveText("The passkey is removed on the server too.", { timeout: 30_000 });
  await expect(page.getByTestId("passkey-list")).toBeEmpty();
  await wipeSiteData(authenticator, site);
  await enterEmailAndCode(page, site, email);
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await expect(page.locator("#passkey-unlock-form")).toBeHidden();
  await submitUnlock(page, PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });

  const events = exchanges.filter((e) => e.url.endsWith("/api/v1/events"));
  expect(events.length, "signup, the passkey's sync, two logins and the removal were recorded").toBeGreaterThanOrEqual(10);
  for (const exchange of exchanges) {
    const everything = Object.values(exchange).join("\n");
    for (const secret of secrets) expect(everything, exchange.url).not.toContain(secret);
  }
  await site.stop();
});

test("without PRF, passkeys are not offered, and an authenticator that lacks it adds nothing", async ({ browser }) => {
  const site = await startSite();
  // A browser that says it has no PRF: the option is hidden, with the reason.
  const withoutPrf = await browser.newContext();
  await withoutPrf.addInitScript(() => {
    PublicKeyCredential.getClientCapabilities = async () => ({ "extension:prf": false });
  });
  const page = await withoutPrf.newPage();
  await signUp(page, site, "no.prf@example.org", PASSWORD);
  await openPasskeys(page);
  await expect(page.locator("#passkey-unsupported")).toBeVisible();
  await expect(page.locator("#passkey-unsupported")).toContainText("PRF extension");
  await expect(page.locator("#passkey-form")).toBeHidden();

  // An authenticator without PRF in a browser with it: refused with the reason, nothing added.
  const other = await browser.newContext();
  const second = await other.newPage();
  await virtualAuthenticator(second, { prf: false });
  await signUp(second, site, "no.prf.key@example.org", PASSWORD);
  await addPasskey(second, "Old key", PASSWORD);
  await expect(second.locator("#passkey-error")).toContainText("does not support the PRF extension");
  await expect(second.getByTestId("passkey-list")).toBeEmpty();
  await second.getByRole("button", { name: "Lock" }).click();
  await expect(second.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  await expect(second.locator("#passkey-unlock-form")).toBeHidden();
  await withoutPrf.close();
  await other.close();
  await site.stop();
});
