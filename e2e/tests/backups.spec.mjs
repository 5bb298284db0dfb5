// The backups a login meets: one sealed by an earlier release (envelope version 1) is opened and
// sealed again as version 3, and the vault then asks for an emergency kit; a newest backup the password cannot open still gives the key back
// from an earlier version, when the user asks for it.
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { nip19 } from "nostr-tools";
import { startSigil } from "../harness.mjs";
import { FAST_KDF, RECOVERY_CODE, enterEmailAndCode, openSection, saveKit, signUp, submitUnlock } from "../steps.mjs";

const PASSWORD = "correct horse battery staple";

let sigil;
test.beforeAll(async () => {
  sigil = await startSigil({ serverArgs: FAST_KDF });
});
test.afterAll(async () => {
  await sigil?.stop();
});

/** The stored backup of the account with this npub, as the server keeps it. */
function storedBackup(npub) {
  const pubkey = Buffer.from(nip19.decode(npub).data, "hex").toString("hex");
  const row = sigil.database(
    "print(json.dumps(c.execute('SELECT backup, backup_version FROM users WHERE pubkey = ?', (bytes.fromhex(args[0]),)).fetchone()))",
    pubkey,
  );
  const [backup, version] = JSON.parse(row);
  return { backup: JSON.parse(backup), version };
}

test("a version-1 backup from an earlier release opens, is sealed again as version 3 and gets a kit", async ({ page, browser }) => {
  const email = "previous-release@example.org";
  const placeholder = await signUp(page, sigil, email, PASSWORD);
  // The account as the previous release left it: the known answer made with argon2-cffi and
  // PyNaCl, for the BIP-340 test key 3.
  const [v1] = JSON.parse(readFileSync(new URL("../../shared/tests/vectors/backup-v1.json", import.meta.url), "utf8"));
  sigil.database(
    "c.execute('UPDATE users SET pubkey = ?, entropy = ?, backup = ?, backup_version = 1 WHERE pubkey = ?', (bytes.fromhex(args[0]), bytes.fromhex(args[1]), args[2], bytes.fromhex(args[3])))",
    v1.pubkey,
    v1.entropy,
    JSON.stringify(v1.envelope),
    Buffer.from(nip19.decode(placeholder).data, "hex").toString("hex"),
  );

  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, v1.password);
  const npub = nip19.npubEncode(v1.pubkey);
  await expect(second.getByTestId("npub")).toHaveText(npub, { timeout: 30_000 });
  await expect(second.locator("#sync-status")).toHaveText(
    "Your backup was in an older format; it has been sealed again in the current one. It is saved on the server.",
    { timeout: 30_000 },
  );
  const stored = storedBackup(npub);
  expect(stored.version).toBe(2);
  expect(stored.backup.v).toBe(3);
  expect(stored.backup.pubkey).toBe(v1.pubkey);
  expect(stored.backup.slots.map((slot) => slot.kind)).toEqual(["password"]);

  // The upgraded vault has no recovery code: it says so, and makes one when asked.
  await expect(second.locator("#kit-missing")).toBeVisible();
  await openSection(second, "Security");
  await second.locator("summary", { hasText: "Recovery kit" }).click();
  await second.locator("#new-kit-password").fill(v1.password);
  await second.getByRole("button", { name: "Make a new recovery code" }).click();
  const code = await saveKit(second);
  expect(code).toMatch(RECOVERY_CODE);
  await expect(second.locator("#kit-missing")).toBeHidden();
  await expect.poll(() => storedBackup(npub).backup.slots.map((slot) => slot.kind), { timeout: 30_000 }).toEqual(["password", "recovery"]);
  await device.close();
});

test("when the newest backup refuses the password, an earlier one gives the key back", async ({ page, browser }) => {
  const email = "bad-upload@example.org";
  const created = await signUp(page, sigil, email, PASSWORD);
  // A bad upload, as a client's bug would make (the password's slot wraps a wrong key): the
  // server keeps the good one as version 1, and the newest (version 2) no longer opens with the
  // password.
  sigil.database(
    [
      "row = c.execute('SELECT pubkey, backup, updated_at FROM users WHERE pubkey = ?', (bytes.fromhex(args[0]),)).fetchone()",
      "c.execute('INSERT INTO backup_history (pubkey, version, backup, stored_at) VALUES (?, 1, ?, ?)', (row[0], row[1], row[2]))",
      "bad = json.loads(row[1]); w = bad['slots'][0]['wrapped']; bad['slots'][0]['wrapped'] = w[:-1] + ('0' if w[-1] != '0' else '1')",
      "c.execute('UPDATE users SET backup = ?, backup_version = 2 WHERE pubkey = ?', (json.dumps(bad), row[0]))",
    ].join("\n"),
    Buffer.from(nip19.decode(created).data, "hex").toString("hex"),
  );

  const device = await browser.newContext();
  const second = await device.newPage();
  await enterEmailAndCode(second, sigil, email);
  await submitUnlock(second, PASSWORD);
  await expect(second.locator("#unlock-error")).toContainText("does not unlock this vault");
  const tryEarlier = second.getByRole("button", { name: "My password is right: try earlier backups" });
  await expect(tryEarlier).toBeVisible();
  await second.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await tryEarlier.click();
  await expect(second.getByTestId("npub")).toHaveText(created, { timeout: 30_000 });
  await expect(second.locator("#sync-status")).toHaveText(
    "The newest backup on the server did not open with this password, but an earlier one (version 1) did. " +
      "Your key is safe and has been sealed again under this password. It is saved on the server.",
    { timeout: 30_000 },
  );
  expect(storedBackup(created).version).toBe(3);

  // The next device opens the newest directly.
  const third = await (await browser.newContext()).newPage();
  await enterEmailAndCode(third, sigil, email);
  await submitUnlock(third, PASSWORD);
  await expect(third.getByTestId("npub")).toHaveText(created, { timeout: 30_000 });
  await device.close();
});
