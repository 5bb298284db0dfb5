// Loads the WebAssembly client. Kept as a file, not inline, so the CSP can forbid inline script.
import init from "./sigil-client.js";

const status = document.getElementById("status");
document.getElementById("needs-script").hidden = true;
status.textContent = "Loading…";

if (typeof WebAssembly !== "object") {
  status.textContent = "This browser cannot run WebAssembly, which Sigil needs to keep your key on your device.";
  status.classList.add("error");
} else {
  // The app shell is cached for offline use; without a service worker everything still works online.
  navigator.serviceWorker?.register("/sw.js").catch((error) => console.warn("offline copy unavailable:", error));
  init({ module_or_path: "./sigil-client_bg.wasm" }).catch((error) => {
    status.textContent = `Sigil could not start: ${error}`;
    status.classList.add("error");
  });
}
