// Loads the WebAssembly client. Kept as a file, not inline, so the CSP can forbid inline script.
import init from "./sigil-client.js";

// The server's announcement, fetched now, beside the module, rather than once the module runs:
// over Tor that is a round trip (half a second or more) fewer. The vault checks it as if it had
// fetched it itself; without it (offline) it fetches or falls back to its saved copy.
globalThis.sigilAnnouncement = fetch("/.well-known/sigil.json", { cache: "no-store" }).then(
  (response) => (response.ok ? response.text() : null),
  () => null,
);

// WebAuthn for passkeys (www/passkeys.js), imported only when a passkey is offered or used.
globalThis.sigilPasskeys = () => import("./passkeys.js");

const status = document.getElementById("status");
document.getElementById("needs-script").hidden = true;
status.textContent = "Loading…";

if (typeof WebAssembly !== "object") {
  status.textContent = "This browser cannot run WebAssembly, which Sigil needs to keep your key on your device.";
  status.classList.add("error");
} else {
  // The app shell is cached for offline use; without a service worker everything still works
  // online. Registered once the app runs, so its downloads never compete with the first screen's.
  const keepOffline = () =>
    navigator.serviceWorker?.register("/sw.js").catch((error) => console.warn("offline copy unavailable:", error));
  init({ module_or_path: "./sigil-client_bg.wasm" }).then(keepOffline, (error) => {
    status.textContent = `Sigil could not start: ${error}`;
    status.classList.add("error");
  });
}
