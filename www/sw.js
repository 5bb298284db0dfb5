// Sigil's service worker: keeps the app shell so the page opens with no network. It caches only
// the shell's own files; API calls and the well-known document always go to the network, and the
// vault itself lives in IndexedDB, not here.
const CACHE = "sigil-shell-v1";
const SHELL = ["/", "/style.css", "/boot.js", "/vault-worker.js", "/pow-worker.js", "/argon2-lanes.js", "/argon2-lane-worker.js", "/sigil-lanes.wasm", "/sigil-client.js", "/sigil-client_bg.wasm", "/strength-words.txt"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const old = caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))));
  event.waitUntil(old.then(() => self.clients.claim()));
});

// Network first, so an online visit always runs the server's current build; the cached copy
// answers only when the server cannot be reached.
self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = request.mode === "navigate" ? "/" : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(path, copy)));
        }
        return response;
      })
      .catch(() => caches.match(path).then((cached) => cached ?? Response.error())),
  );
});
