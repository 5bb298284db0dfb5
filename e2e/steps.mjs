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

/** A whole signup; returns the new npub. */
export async function signUp(page, sigil, email, password) {
  await enterEmailAndCode(page, sigil, email);
  await expect(page.getByRole("heading", { name: "Choose a password" })).toBeVisible();
  await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create my key" }).click();
  await expect(page.getByTestId("npub")).toHaveText(/^npub1/);
  return page.getByTestId("npub").textContent();
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
  await page.getByLabel("New password (at least 10 characters)").fill(next);
  await page.getByLabel("Repeat the new password").fill(next);
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
