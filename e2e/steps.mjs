// The user steps the browser tests share, written once.
import { expect } from "@playwright/test";

/** Server flags that make each Argon2 run quick; the parameters themselves are tested natively. */
export const FAST_KDF = ["--kdf-memory-kib", "19456", "--kdf-iterations", "2", "--kdf-parallelism", "1"];

/** Opens the page, enters the address and the emailed code. */
export async function enterEmailAndCode(page, sigil, email) {
  await page.goto(sigil.baseURL);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
  await page.getByLabel("Code from the email").fill(await sigil.codeFor(email));
  await page.getByRole("button", { name: "Verify" }).click();
}

/** A recovery code as the emergency kit shows it: eight groups of four bech32 characters. */
export const RECOVERY_CODE = /^([02-9ac-hj-np-z]{4}-){7}[02-9ac-hj-np-z]{4}$/;

/** On the emergency kit screen: reads the recovery code, confirms the kit saved; returns the code. */
export async function saveKit(page) {
  // Signup mines three requests first: at a raised difficulty on a loaded machine that can take a while.
  await expect(page.getByRole("heading", { name: "Save your emergency kit" })).toBeVisible({ timeout: 60_000 });
  const code = await page.getByTestId("kit-code").textContent();
  expect(code).toMatch(RECOVERY_CODE);
  await page.getByLabel("I have saved or printed my emergency kit").check();
  await page.getByRole("button", { name: "Continue to my vault" }).click();
  return code;
}

/** A whole signup, kit included; returns the new npub and the recovery code. */
export async function signUpWithKit(page, sigil, email, password) {
  await enterEmailAndCode(page, sigil, email);
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create my key" }).click();
  const code = await saveKit(page);
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/);
  return { npub: await page.getByTestId("npub").textContent(), code };
}

/** A whole signup; returns the new npub. */
export async function signUp(page, sigil, email, password) {
  return (await signUpWithKit(page, sigil, email, password)).npub;
}

/** Enters a password on the unlock screen. */
export async function submitUnlock(page, password) {
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Unlock" }).click();
}

/** Opens one of the vault's sections (its tabs: Identity, Apps, Activity, Security). */
export async function openSection(page, name) {
  await page.getByRole("tab", { name }).click();
}

/** Fills and submits the change-password form, opening it if needed. */
export async function changePassword(page, current, next) {
  await openSection(page, "Security");
  const form = page.locator("#change-form");
  if (!(await form.isVisible())) await page.locator("summary", { hasText: "Change password" }).click();
  await page.getByLabel("Current password").fill(current);
  await form.getByLabel("New password (at least 10 characters)").fill(next);
  await form.getByLabel("Repeat the new password").fill(next);
  await page.getByRole("button", { name: "Change password" }).click();
}

/** Waits until the service worker controls the page, so the app shell is cached for offline use. */
export async function shellCached(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
  });
}

/** The records the vault worker keeps in the page's IndexedDB ("local": the vault, "signer": the
 * NIP-46 signer's state), by name, each parsed from the JSON it is stored as. */
export function savedRecords(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("sigil");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const database = open.result;
          if (!database.objectStoreNames.contains("vault")) return resolve({});
          const store = database.transaction("vault").objectStore("vault");
          const names = store.getAllKeys();
          const values = store.getAll();
          values.onsuccess = () =>
            resolve(Object.fromEntries(names.result.map((name, i) => [name, JSON.parse(values.result[i])])));
          values.onerror = () => reject(values.error);
        };
      }),
  );
}

/** Every way a 32-byte secret could appear in text: hex, base64 (both alphabets). */
export function encodings(bytes) {
  const buffer = Buffer.from(bytes);
  return [buffer.toString("hex"), buffer.toString("base64").replace(/=+$/, ""), buffer.toString("base64url")];
}

/** Records every finished request of `target` (a page or a context) into `exchanges`, whole. */
export function recordExchanges(target, exchanges) {
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
}
