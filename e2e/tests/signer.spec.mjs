// The NIP-46 signer in Chromium (issue 26): apps someone else wrote (nostr-tools' BunkerSigner
// and NDK's NDKNip46Signer, from npm, in Node) connect to the vault in the page through a real
// relay on loopback (nostr-rs-relay), by bunker:// and by nostrconnect://. The user answers
// prompts on the page, revokes, locks and unlocks. A tap on the relay keeps every NIP-46 message,
// and none carries a secret. Apps that keep talking while the page is clicked run in processes
// of their own: in this process, nostr-tools' relay traffic stalled Playwright's clicks.
import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { nip19 } from "nostr-tools";
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import WebSocket from "ws";
import { startRelay, startSigil } from "../harness.mjs";
import { FAST_KDF, openSection, savedRecords, signUp, submitUnlock } from "../steps.mjs";

// Node 20 has no WebSocket of its own; nostr-tools' NIP-46 bundle looks for the global one.
globalThis.WebSocket ??= WebSocket;
const { BunkerSigner, createNostrConnectURI, parseBunkerInput } = await import("nostr-tools/nip46");

const PASSWORD = "signer-password-7e3a91";

let relay;
// A relay only an app names: the server does not, so the page's content security policy does not.
let appRelay;
let sigil;
let tap;
test.beforeAll(async () => {
  relay = await startRelay();
  appRelay = await startRelay();
  sigil = await startSigil({ serverArgs: [...FAST_KDF, "--default-relays", relay.url] });
  tap = tapRelay(relay.url);
});
test.afterAll(async () => {
  tap?.close();
  await sigil?.stop();
  await relay?.stop();
  await appRelay?.stop();
});

/** Every NIP-46 message (kind 24133) the relay passes on, as the text it sent. */
function tapRelay(url) {
  const seen = [];
  const socket = new WebSocket(url);
  socket.on("open", () => socket.send(JSON.stringify(["REQ", "tap", { kinds: [24133] }])));
  socket.on("message", (data) => seen.push(String(data)));
  return { seen, close: () => socket.close() };
}

const note = (content, kind = 1) => ({ kind, content, tags: [["t", "sigil"]], created_at: Math.floor(Date.now() / 1000) });

/** A bunker:// link from the Apps section. */
async function bunkerLink(page) {
  await openSection(page, "Apps");
  await expect(page.getByTestId("signer-status")).toContainText("The signer is on");
  const details = page.locator("summary", { hasText: "bunker://" });
  if (!(await page.locator("#bunker-form").isVisible())) await details.click();
  await page.getByRole("button", { name: "Make a link" }).click();
  await expect(page.getByTestId("bunker-link")).toHaveText(/^bunker:\/\//);
  return page.getByTestId("bunker-link").textContent();
}

/** Runs an app's request, once more if the app's own publish to the relay timed out (nostr-tools
 * gives up on a relay's OK after 4.4 s, which a loaded test machine can exceed); the vault's
 * answer is what is tested, not the app's relay connection. */
async function sentAgainIfLost(request) {
  try {
    return await request();
  } catch (error) {
    if (!String(error?.errors?.[0]?.message ?? error?.message).includes("publish timed out")) throw error;
    return request();
  }
}

/** The key, shown on request, for the traffic audit. */
async function revealKey(page) {
  await openSection(page, "Security");
  await page.locator("summary", { hasText: "Export or show your key" }).click();
  page.once("dialog", (dialog) => dialog.accept());
  await page.locator("#export-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Show nsec…" }).click();
  await expect(page.getByTestId("key-output")).toHaveText(/^nsec1/);
  return page.getByTestId("key-output").textContent();
}

/** Starts an app script (in e2e/) in its own process; `next()` reads its next JSON line. */
function startApp(script, args) {
  const child = spawn("node", [fileURLToPath(new URL(`../${script}`, import.meta.url)), ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${script} ended without an answer`);
    return JSON.parse(value);
  };
  return { child, next };
}

/** Answers each prompt on the page with the button `choose(asks, event)` names until `until`
 * settles; returns its value and what was asked. */
async function answering(page, choose, until) {
  let settled = false;
  const outcome = until.finally(() => (settled = true));
  outcome.catch(() => {});
  const asked = [];
  const prompt = page.locator("#signer-prompt");
  while (!settled) {
    if (await prompt.isVisible()) {
      const id = await prompt.getAttribute("data-prompt");
      const asks = await page.getByTestId("signer-prompt-asks").textContent();
      const event = await page.getByTestId("signer-prompt-event").textContent();
      if (id && asked.at(-1)?.id !== id) {
        asked.push({ id, asks, event });
        await prompt.getByRole("button", { name: choose(asks, event), exact: true }).click();
      }
    }
    await page.waitForTimeout(50);
  }
  return { result: await outcome, asked: asked.map(({ asks, event }) => ({ asks, event })) };
}

test("an app connects by bunker://, is denied, then allowed always; revoked, it gets errors", async ({ page }) => {
  const npub = await signUp(page, sigil, "bunker@example.org", PASSWORD);
  const pubkey = nip19.decode(npub).data;

  // nostr-tools' BunkerSigner: the first request to sign kind 4 is denied, the second allowed.
  const app = startApp("nip46-client.mjs", [await bunkerLink(page), "--then-wait"]);
  let deniedOnce = false;
  const { result: outcome, asked } = await answering(
    page,
    (asks) => {
      if (asks.includes("kind 4") && !deniedOnce) {
        deniedOnce = true;
        return "Deny";
      }
      return "Always allow this";
    },
    app.next(),
  );
  expect(outcome.pubkey).toBe(pubkey);
  expect(outcome.verified).toBe(true);
  expect(outcome.event.pubkey).toBe(pubkey);
  expect(outcome.nip44).toBe("round trip 44");
  expect(outcome.nip04).toBe("round trip 04");
  expect(outcome.unknown).toMatch(/unknown method/);
  expect(outcome.denied).toMatch(/denied/);
  expect(outcome.again).toBe("signed");
  // Each new permission asked once, the denied one again; the prompt shows the event.
  expect(asked.map(({ asks }) => asks.replace(/^App \S+ asks to /, ""))).toEqual([
    "sign events of kind 1 (short note).",
    "encrypt messages (NIP-44).",
    "decrypt messages (NIP-44).",
    "encrypt messages (NIP-04, older apps).",
    "decrypt messages (NIP-04, older apps).",
    "sign events of kind 4 (direct message, NIP-04).",
    "sign events of kind 4 (direct message, NIP-04).",
  ]);
  expect(asked[0].event).toContain("Content: signed through NIP-46");
  expect(asked[0].event).toContain("Tag: t sigil");

  // The Apps section lists what it may do; Activity, what it did.
  await openSection(page, "Apps");
  await expect(page.getByTestId("apps")).toContainText("Always allowed to sign events of kind 1");
  await openSection(page, "Activity");
  await expect(page.getByTestId("activity")).toContainText("asked to sign events of kind 4 (direct message, NIP-04) (refused)");
  await expect(page.getByTestId("activity")).toContainText("asked to decrypt messages (NIP-04");

  // Revoked, its next request gets an error.
  await openSection(page, "Apps");
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: /^Revoke/ }).click();
  await expect(page.getByTestId("apps")).toContainText("Revoked");
  app.child.stdin.write("revoked\n");
  expect((await app.next()).afterRevoke).toMatch(/revoked/);

  // The second library, NDK: its own connection by a new link, every prompt allowed.
  const ndk = startApp("nip46-ndk.mjs", [await bunkerLink(page)]);
  const { result: ndkOutcome } = await answering(page, () => "Always allow this", ndk.next());
  expect(ndkOutcome.pubkey).toBe(pubkey);
  expect(ndkOutcome.verified).toBe(true);
  expect(ndkOutcome.nip44).toBe("round trip 44");
  expect(ndkOutcome.nip04).toBe("round trip 04");

  // No NIP-46 message on the relay carried the key or the password.
  const nsec = await revealKey(page);
  const secretHex = Buffer.from(nip19.decode(nsec).data).toString("hex");
  expect(tap.seen.length).toBeGreaterThan(20);
  for (const message of tap.seen) {
    for (const secret of [nsec, secretHex, PASSWORD]) expect(message).not.toContain(secret);
  }
});

test("an app connects by nostrconnect://; locked, the vault does not answer; unlocked, it does", async ({ page }, testInfo) => {
  const npub = await signUp(page, sigil, "connect@example.org", PASSWORD);
  const pubkey = nip19.decode(npub).data;
  await openSection(page, "Apps");
  // The page's policy does not name the app's relay: the page cannot reach it, the signer can.
  const pageConnects = (url) =>
    page.evaluate(
      (url) =>
        new Promise((resolve) => {
          try {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve(true);
            socket.onerror = () => resolve(false);
          } catch {
            resolve(false);
          }
        }),
      url,
    );
  expect(await pageConnects(relay.url)).toBe(true);
  expect(await pageConnects(appRelay.url)).toBe(false);
  const clientSecret = generateSecretKey();
  const uri = createNostrConnectURI({
    clientPubkey: getPublicKey(clientSecret),
    relays: [appRelay.url],
    secret: `secret-${Date.now()}`,
    perms: ["sign_event:1", "nip44_encrypt", "nip44_decrypt"],
    name: "Playwright Notes",
    url: "https://notes.example",
  });
  const connecting = BunkerSigner.fromURI(clientSecret, uri, {}, 60_000);
  await page.getByLabel("The app's nostrconnect:// link").fill(uri);
  await page.getByRole("button", { name: "Read the link" }).click();
  const invitation = page.getByTestId("invitation");
  await expect(invitation).toContainText("Playwright Notes");
  await expect(invitation).toContainText("https://notes.example");
  await expect(invitation).toContainText("sign events of kind 1 (short note)");
  await page.screenshot({ path: testInfo.outputPath("connect-an-app.png"), fullPage: true });
  await page.getByRole("button", { name: "Connect this app" }).click();
  const app = await connecting;
  expect(await app.getPublicKey()).toBe(pubkey);
  expect(verifyEvent(await app.signEvent(note("granted when connected")))).toBe(true);
  await expect(page.getByTestId("apps")).toContainText("Playwright Notes");

  // A bad link gets a clear error, and a second approval of the same link is refused.
  await page.getByLabel("The app's nostrconnect:// link").fill("nostrconnect://not-a-key?relay=wss://x");
  await page.getByRole("button", { name: "Read the link" }).click();
  await expect(page.locator("#connect-error")).toContainText("That link cannot connect an app");

  // Locked (the page reloads, holding nothing): requests go unanswered.
  await page.getByRole("button", { name: "Lock" }).click();
  await expect(page.getByRole("heading", { name: "Unlock your vault" })).toBeVisible();
  const unanswered = await Promise.race([
    app.ping().then(
      () => "answered",
      () => "refused",
    ),
    new Promise((resolve) => setTimeout(() => resolve("no answer"), 3_000)),
  ]);
  expect(unanswered).toBe("no answer");

  // After a reload and unlock the connection is still there, with its permissions.
  await page.reload();
  await submitUnlock(page, PASSWORD);
  await expect(page.getByTestId("npub")).toHaveText(npub);
  expect(verifyEvent(await sentAgainIfLost(() => app.signEvent(note("after unlock"))))).toBe(true);
  const peer = getPublicKey(generateSecretKey());
  expect(await app.nip44Decrypt(peer, await app.nip44Encrypt(peer, "kept"))).toBe("kept");
  await app.close();

  // Removed from this device, the signer's record (apps, permissions, log) goes with the vault's.
  expect(Object.keys(await savedRecords(page)).sort()).toEqual(["local", "signer"]);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Remove from this device…" }).click();
  await expect(page.getByRole("heading", { name: "Sign up or log in" })).toBeVisible();
  expect(await savedRecords(page)).toEqual({});
});
